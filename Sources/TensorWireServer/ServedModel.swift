import InferenceEngine
import TensorWireProtocol

/// One loaded model version, with its wire-level signature computed once at load.
final class ServedModel: Sendable {
    let name: String
    let version: UInt64
    let config: ModelConfig
    let engine: Model
    let inputSpecs: [TensorSpec]
    let outputSpecs: [TensorSpec]

    init(name: String, version: UInt64, config: ModelConfig, engine: Model) throws(ModelRepositoryError) {
        self.name = name
        self.version = version
        self.config = config
        self.engine = engine
        inputSpecs = try engine.inputs.map(Self.spec)
        outputSpecs = try engine.outputs.map(Self.spec)
    }

    private static func spec(_ info: ValueInfo) throws(ModelRepositoryError) -> TensorSpec {
        guard let dataType = TensorDataType(rawValue: UInt8(clamping: info.elementType.onnxDataType)) else {
            throw ModelRepositoryError("'\(info.name)' has element type \(info.elementType), which the protocol cannot carry")
        }
        let shape = info.dimensions.map { dimension -> Int in
            if case .fixed(let size) = dimension { return size }
            return -1
        }
        return TensorSpec(name: info.name, dataType: dataType, shape: shape)
    }
}
