/// A decoded Infer request body; input tensors point into the frame payload.
public struct InferRequestView {
    public var modelName: String
    /// 0 means the latest version.
    public var modelVersion: UInt64
    public var inputs: [WireTensorView]
    /// Empty means all outputs.
    public var requestedOutputs: [String]

    /// - Parameters:
    ///   - body: the REQUEST body (``RequestFrame/body``).
    ///   - bodyOffset: offset of `body` within the payload, for tensor alignment.
    /// - Throws: INVALID_ARGUMENT on any malformation, limit violation or trailing bytes.
    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        modelName = try r.string(maxLength: limits.maxNameLength, "model_name")
        modelVersion = try r.u64("model_version")
        let n = try r.count(limit: limits.maxTensors, "input_count")
        inputs = []
        inputs.reserveCapacity(n)
        for _ in 0..<n { inputs.append(try WireTensorView(from: &r, limits: limits)) }
        let m = try r.count(limit: limits.maxTensors, "requested_output_count")
        requestedOutputs = []
        requestedOutputs.reserveCapacity(m)
        for _ in 0..<m { requestedOutputs.append(try r.string(maxLength: limits.maxNameLength, "requested output")) }
        try r.expectEnd("Infer request")
    }
}
