/// A decoded Infer response body; output tensors point into the frame payload
/// (copy them with ``WireTensor/init(copying:)`` to keep them).
public struct InferResponseView {
    public var modelName: String
    public var modelVersion: UInt64
    public var outputs: [WireTensorView]

    /// - Throws: INVALID_ARGUMENT on any malformation, limit violation or trailing bytes.
    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        modelName = try r.string(maxLength: limits.maxNameLength, "model_name")
        modelVersion = try r.u64("model_version")
        let n = try r.count(limit: limits.maxTensors, "output_count")
        outputs = []
        outputs.reserveCapacity(n)
        for _ in 0..<n { outputs.append(try WireTensorView(from: &r, limits: limits)) }
        try r.expectEnd("Infer response")
    }
}
