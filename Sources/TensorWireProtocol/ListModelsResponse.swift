/// One served model in a ListModels response.
public struct ModelSummary: Hashable, Sendable {
    public var name: String
    public var versions: [UInt64]
    public var ready: Bool

    public init(name: String, versions: [UInt64], ready: Bool) {
        self.name = name
        self.versions = versions
        self.ready = ready
    }
}

/// ListModels response: u16 count × (string name, u16 version_count × u64, u8 ready 0/1).
public struct ListModelsResponse: WireMessageBody, Hashable {
    public var models: [ModelSummary]

    public init(models: [ModelSummary]) { self.models = models }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        precondition(models.count <= Int(UInt16.max))
        w.writeUInt16(UInt16(models.count))
        for m in models {
            precondition(m.versions.count <= Int(UInt16.max))
            w.writeString(m.name)
            w.writeUInt16(UInt16(m.versions.count))
            for v in m.versions { w.writeUInt64(v) }
            w.writeUInt8(m.ready ? 1 : 0)
        }
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        let n = try r.listCount(minElementSize: 5, "model count")
        models = []
        models.reserveCapacity(n)
        for _ in 0..<n {
            let name = try r.string(maxLength: limits.maxNameLength, "model name")
            let vc = try r.listCount(minElementSize: 8, "version count")
            var versions = [UInt64]()
            versions.reserveCapacity(vc)
            for _ in 0..<vc { versions.append(try r.u64("version")) }
            models.append(ModelSummary(name: name, versions: versions, ready: try r.bool("ready")))
        }
        try r.expectEnd("ListModels response")
    }
}
