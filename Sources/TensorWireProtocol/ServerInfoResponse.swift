/// ServerInfo response: string name, string version, u16 protocol_version,
/// u16 count × string extensions.
public struct ServerInfoResponse: WireMessageBody, Hashable {
    public var name: String
    public var version: String
    public var protocolVersion: UInt16
    public var extensions: [String]

    public init(name: String, version: String, protocolVersion: UInt16 = ProtocolVersion.current, extensions: [String] = []) {
        self.name = name
        self.version = version
        self.protocolVersion = protocolVersion
        self.extensions = extensions
    }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        precondition(extensions.count <= MessageLimits.default.maxTensors)
        w.writeString(name)
        w.writeString(version)
        w.writeUInt16(protocolVersion)
        w.writeUInt16(UInt16(extensions.count))
        for e in extensions { w.writeString(e) }
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        name = try r.string(maxLength: limits.maxNameLength, "server name")
        version = try r.string(maxLength: limits.maxStringLength, "server version")
        protocolVersion = try r.u16("protocol_version")
        let n = try r.listCount(minElementSize: 2, limit: limits.maxTensors, "extension count")
        extensions = []
        extensions.reserveCapacity(n)
        for _ in 0..<n { extensions.append(try r.string(maxLength: limits.maxNameLength, "extension")) }
        try r.expectEnd("ServerInfo response")
    }
}
