/// Frame encoding. Each method appends one complete frame (header with the correct length) at
/// the end of the writer, so several frames can be batched into one socket write.
extension ByteWriter {
    public mutating func writePreface() {
        writeBytes(ConnectionPreface.bytes)
    }

    /// Writes a header with a placeholder length; returns the payload start for ``endFrame(_:)``.
    @inline(__always)
    mutating func beginFrame(_ type: FrameType, streamID: UInt32, flags: UInt8 = 0) -> Int {
        writeUInt32(0)
        writeUInt8(type.rawValue)
        writeUInt8(flags)
        writeUInt16(0)
        writeUInt32(streamID)
        return count
    }

    @inline(__always)
    mutating func endFrame(_ payloadStart: Int) {
        let length = count - payloadStart
        precondition(length <= Int(UInt32.max), "frame payload too large")
        patchUInt32(UInt32(length), at: payloadStart - FrameHeader.size)
    }

    public mutating func writeHello(_ hello: Hello) {
        let p = beginFrame(.hello, streamID: 0)
        writeUInt16(hello.minVersion)
        writeUInt16(hello.maxVersion)
        hello.settings.encode(into: &self)
        writeString(hello.authToken)
        endFrame(p)
    }

    public mutating func writeHelloAck(_ ack: HelloAck) {
        let p = beginFrame(.helloAck, streamID: 0)
        writeUInt16(ack.version)
        ack.settings.encode(into: &self)
        writeString(ack.serverName)
        endFrame(p)
    }

    /// Writes a REQUEST: head, padding to a multiple of 64, then whatever `body` appends.
    /// `body` receives the writer and the payload start (for alignment of tensor data).
    public mutating func writeRequest(streamID: UInt32, head: RequestHead, body: (inout ByteWriter, _ payloadStart: Int) -> Void) {
        precondition(streamID != 0, "REQUEST needs a nonzero stream id")
        let p = beginFrame(.request, streamID: streamID)
        writeString(head.method)
        writeUInt64(head.timeoutMicroseconds)
        head.metadata.encode(into: &self)
        writePadding(payloadStart: p)
        body(&self, p)
        endFrame(p)
    }

    /// Writes a RESPONSE: head, padding to a multiple of 64, then whatever `body` appends
    /// (append nothing unless the status is OK).
    public mutating func writeResponse(streamID: UInt32, head: ResponseHead, body: (inout ByteWriter, _ payloadStart: Int) -> Void) {
        precondition(streamID != 0, "RESPONSE needs a nonzero stream id")
        let p = beginFrame(.response, streamID: streamID)
        writeUInt16(head.status.code.rawValue)
        writeString(head.status.message)
        head.metadata.encode(into: &self)
        writePadding(payloadStart: p)
        body(&self, p)
        endFrame(p)
    }

    /// An error RESPONSE with no body and no metadata.
    public mutating func writeResponse(streamID: UInt32, status: Status) {
        writeResponse(streamID: streamID, head: ResponseHead(status: status)) { _, _ in }
    }

    public mutating func writeCancel(streamID: UInt32) {
        precondition(streamID != 0, "CANCEL needs a nonzero stream id")
        endFrame(beginFrame(.cancel, streamID: streamID))
    }

    public mutating func writePing(_ opaque: UInt64) {
        let p = beginFrame(.ping, streamID: 0)
        writeUInt64(opaque)
        endFrame(p)
    }

    public mutating func writePong(_ opaque: UInt64) {
        let p = beginFrame(.pong, streamID: 0)
        writeUInt64(opaque)
        endFrame(p)
    }

    public mutating func writeGoAway(_ goAway: GoAway) {
        let p = beginFrame(.goAway, streamID: 0)
        writeUInt32(goAway.lastStreamID)
        writeUInt16(goAway.code.rawValue)
        writeString(goAway.message)
        endFrame(p)
    }
}
