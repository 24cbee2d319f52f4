/// The method-independent part of a RESPONSE.
public struct ResponseHead: Sendable, Hashable {
    public var status: Status
    public var metadata: Metadata

    public init(status: Status = .ok, metadata: Metadata = Metadata()) {
        self.status = status
        self.metadata = metadata
    }
}

/// A decoded RESPONSE payload: head plus the borrowed, 64-byte aligned body.
///
/// Payload: u16 status code, string message, metadata, zero padding to the next multiple of 64
/// (always present), body (must be empty unless the status is OK).
public struct ResponseFrame {
    public var head: ResponseHead
    public var body: UnsafeRawBufferPointer
    /// Offset of `body` within the payload (a multiple of 64); pass it to body parsers.
    public var bodyOffset: Int

    /// - Throws: ``Status`` INVALID_ARGUMENT when the payload is malformed.
    public init(payload: UnsafeRawBufferPointer, limits: MessageLimits) throws(Status) {
        var r = ByteReader(payload)
        let code = StatusCode(rawValue: try r.u16("status code"))
        let message = try r.string(maxLength: limits.maxStringLength, "status message")
        let metadata = try Metadata(from: &r, limits: limits)
        try r.skipPadding("response head padding")
        head = ResponseHead(status: Status(code, message), metadata: metadata)
        bodyOffset = r.offset
        body = try r.bytes(r.remaining, "body")
        guard code == .ok || body.isEmpty else {
            throw Status.invalid("non-OK response carries a \(body.count)-byte body")
        }
    }
}
