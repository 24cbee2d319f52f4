/// Announces that the sender will process no request above ``lastStreamID`` and will close.
///
/// Payload: u32 last_stream_id, u16 status code, string message. Code OK means graceful
/// shutdown; any other code reports the connection error that caused it.
public struct GoAway: Hashable, Sendable {
    public var lastStreamID: UInt32
    public var code: StatusCode
    public var message: String

    public init(lastStreamID: UInt32, code: StatusCode, message: String = "") {
        self.lastStreamID = lastStreamID
        self.code = code
        self.message = message
    }

    /// Parses a GOAWAY payload; any malformation is a connection error (INVALID_ARGUMENT).
    public init(payload: UnsafeRawBufferPointer) throws(ConnectionError) {
        do throws(Status) {
            var r = ByteReader(payload)
            lastStreamID = try r.u32("last_stream_id")
            code = StatusCode(rawValue: try r.u16("code"))
            message = try r.string(maxLength: MessageLimits.default.maxStringLength, "message")
            try r.expectEnd("GOAWAY")
        } catch {
            throw ConnectionError(error)
        }
    }
}

/// Reads the 8 opaque bytes of a PING or PONG payload (as a little-endian u64, so that
/// `writePong(decodePingPayload(p))` echoes the bytes exactly).
public func decodePingPayload(_ payload: UnsafeRawBufferPointer) throws(ConnectionError) -> UInt64 {
    guard payload.count == 8 else {
        throw ConnectionError(.invalidArgument, "PING/PONG payload must be 8 bytes, got \(payload.count)")
    }
    return UInt64(littleEndian: payload.baseAddress!.loadUnaligned(as: UInt64.self))
}
