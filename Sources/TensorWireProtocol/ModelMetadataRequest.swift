/// ModelMetadata request: string name, u64 version (0 = latest).
public struct ModelMetadataRequest: WireMessageBody, Hashable {
    public var name: String
    public var version: UInt64

    public init(name: String, version: UInt64 = 0) {
        self.name = name
        self.version = version
    }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        w.writeString(name)
        w.writeUInt64(version)
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        name = try r.string(maxLength: limits.maxNameLength, "model name")
        version = try r.u64("version")
        try r.expectEnd("ModelMetadata request")
    }
}
