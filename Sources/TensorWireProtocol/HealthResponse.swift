/// Health response: u8 serving (0/1; other values are INVALID_ARGUMENT).
public struct HealthResponse: WireMessageBody, Hashable {
    public var serving: Bool

    public init(serving: Bool) { self.serving = serving }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        w.writeUInt8(serving ? 1 : 0)
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        serving = try r.bool("serving")
        try r.expectEnd("Health response")
    }
}
