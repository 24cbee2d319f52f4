/// The method-independent part of a REQUEST.
public struct RequestHead: Sendable, Hashable {
    /// ASCII method name, e.g. ``MethodName/infer``.
    public var method: String
    /// Relative deadline in microseconds; 0 means none.
    public var timeoutMicroseconds: UInt64
    public var metadata: Metadata

    public init(method: String, timeoutMicroseconds: UInt64 = 0, metadata: Metadata = Metadata()) {
        self.method = method
        self.timeoutMicroseconds = timeoutMicroseconds
        self.metadata = metadata
    }
}

/// A decoded REQUEST payload: head plus the borrowed, 64-byte aligned method body.
///
/// Payload: string method, u64 timeout_us, metadata, zero padding to the next multiple of 64
/// (always present), body to the end of the payload.
public struct RequestFrame {
    public var head: RequestHead
    /// Borrowed from the payload; aligned to 64 if the payload was.
    public var body: UnsafeRawBufferPointer
    /// Offset of `body` within the payload (a multiple of 64); pass it to body parsers.
    public var bodyOffset: Int

    /// - Throws: ``Status`` INVALID_ARGUMENT: a stream error, answered with a RESPONSE.
    public init(payload: UnsafeRawBufferPointer, limits: MessageLimits) throws(Status) {
        var r = ByteReader(payload)
        let method = try r.stringBytes(maxLength: limits.maxNameLength, "method")
        guard !method.isEmpty, method.allSatisfy(Metadata.isValueByte) else {
            throw Status.invalid("method name must be non-empty printable ASCII")
        }
        let timeout = try r.u64("timeout_us")
        let metadata = try Metadata(from: &r, limits: limits)
        try r.skipPadding("request head padding")
        head = RequestHead(method: String(decoding: method, as: UTF8.self), timeoutMicroseconds: timeout, metadata: metadata)
        bodyOffset = r.offset
        body = try r.bytes(r.remaining, "body")
    }
}
