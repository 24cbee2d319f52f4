/// ModelMetadata response: string name, u16 count × u64 versions, string platform,
/// u16 count × TensorSpec inputs, u16 count × TensorSpec outputs, metadata config.
public struct ModelMetadataResponse: WireMessageBody, Hashable {
    public var name: String
    public var versions: [UInt64]
    /// E.g. "onnx".
    public var platform: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    /// How the server schedules the model (`max_batch_size`, `max_queue_delay_us`, ...), as
    /// key/value text with the metadata rules.
    public var config: Metadata

    public init(name: String, versions: [UInt64], platform: String, inputs: [TensorSpec], outputs: [TensorSpec],
                config: Metadata = Metadata()) {
        self.name = name
        self.versions = versions
        self.platform = platform
        self.inputs = inputs
        self.outputs = outputs
        self.config = config
    }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        precondition(versions.count <= Int(UInt16.max) && inputs.count <= MessageLimits.default.maxTensors
                     && outputs.count <= MessageLimits.default.maxTensors)
        w.writeString(name)
        w.writeUInt16(UInt16(versions.count))
        for v in versions { w.writeUInt64(v) }
        w.writeString(platform)
        w.writeUInt16(UInt16(inputs.count))
        for s in inputs { s.encode(into: &w) }
        w.writeUInt16(UInt16(outputs.count))
        for s in outputs { s.encode(into: &w) }
        config.encode(into: &w)
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        name = try r.string(maxLength: limits.maxNameLength, "model name")
        let vc = try r.listCount(minElementSize: 8, "version count")
        versions = []
        versions.reserveCapacity(vc)
        for _ in 0..<vc { versions.append(try r.u64("version")) }
        platform = try r.string(maxLength: limits.maxStringLength, "platform")
        // A TensorSpec is at least 4 bytes (empty name, datatype, rank 0).
        let ic = try r.listCount(minElementSize: 4, limit: limits.maxTensors, "input count")
        inputs = []
        inputs.reserveCapacity(ic)
        for _ in 0..<ic { inputs.append(try TensorSpec(from: &r, limits: limits)) }
        let oc = try r.listCount(minElementSize: 4, limit: limits.maxTensors, "output count")
        outputs = []
        outputs.reserveCapacity(oc)
        for _ in 0..<oc { outputs.append(try TensorSpec(from: &r, limits: limits)) }
        config = try Metadata(from: &r, limits: limits)
        try r.expectEnd("ModelMetadata response")
    }
}
