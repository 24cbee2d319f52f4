import TensorWireProtocol

/// The outputs of one Infer call.
public struct InferResult: Sendable {
    /// The model that answered.
    public var modelName: String
    /// The version that answered (the server resolves version 0 to its latest).
    public var modelVersion: UInt64
    /// Output tensors in the model's declared order (or the requested order).
    public var outputs: [WireTensor]

    public init(modelName: String, modelVersion: UInt64, outputs: [WireTensor]) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.outputs = outputs
    }

    /// The output named `name`, if the server returned one.
    public subscript(name: String) -> WireTensor? {
        outputs.first { $0.name == name }
    }
}
