/// What a Health request asks about.
public enum HealthKind: UInt8, Sendable, CaseIterable {
    /// The process is up.
    case live = 0
    /// The server accepts inference requests.
    case ready = 1
    /// The named model (and version) is loaded and serving.
    case modelReady = 2
}

/// Health request: u8 kind, string model_name, u64 version. The model fields are always on the
/// wire and only meaningful for ``HealthKind/modelReady`` (senders use "" and 0 otherwise).
public struct HealthRequest: WireMessageBody, Hashable {
    public var kind: HealthKind
    public var modelName: String
    public var modelVersion: UInt64

    public init(kind: HealthKind, modelName: String = "", modelVersion: UInt64 = 0) {
        self.kind = kind
        self.modelName = modelName
        self.modelVersion = modelVersion
    }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        w.writeUInt8(kind.rawValue)
        w.writeString(modelName)
        w.writeUInt64(modelVersion)
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        let raw = try r.u8("health kind")
        guard let kind = HealthKind(rawValue: raw) else { throw Status.invalid("unknown health kind \(raw)") }
        self.kind = kind
        modelName = try r.string(maxLength: limits.maxNameLength, "model name")
        modelVersion = try r.u64("version")
        try r.expectEnd("Health request")
    }
}
