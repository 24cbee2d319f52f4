/// The fixed 12-byte frame header: u32 payload_length, u8 type, u8 flags, u16 reserved (0),
/// u32 stream_id, all little-endian.
public struct FrameHeader: Hashable, Sendable {
    public static let size = 12

    public var payloadLength: Int
    public var type: FrameType
    /// No flags are defined in v1; unknown bits are ignored by receivers.
    public var flags: UInt8
    public var streamID: UInt32

    public init(payloadLength: Int, type: FrameType, flags: UInt8 = 0, streamID: UInt32) {
        self.payloadLength = payloadLength
        self.type = type
        self.flags = flags
        self.streamID = streamID
    }

    /// Decodes and validates the fields that need no connection state: reserved bits, type,
    /// the stream-0 rule and the payload sizes fixed by the type. The size limit and ordering
    /// rules are checked by ``FrameDecoder``.
    ///
    /// - Precondition: `bytes` holds at least ``size`` bytes.
    public init(validating bytes: UnsafeRawBufferPointer) throws(ConnectionError) {
        precondition(bytes.count >= Self.size)
        let base = bytes.baseAddress!
        let length = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let rawType = base.load(fromByteOffset: 4, as: UInt8.self)
        let flags = base.load(fromByteOffset: 5, as: UInt8.self)
        let reserved = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        let stream = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard reserved == 0 else {
            throw ConnectionError(.invalidArgument, "reserved header bits set (0x\(String(reserved, radix: 16)))")
        }
        guard let type = FrameType(rawValue: rawType) else {
            throw ConnectionError(.invalidArgument, "unknown frame type \(rawType)")
        }
        if type.isConnectionLevel {
            guard stream == 0 else { throw ConnectionError(.invalidArgument, "\(type) on stream \(stream), must be 0") }
        } else {
            guard stream != 0 else { throw ConnectionError(.invalidArgument, "\(type) on stream 0") }
        }
        // Fixed-size payloads are checked here so a bogus length never makes us buffer anything.
        switch type {
        case .cancel where length != 0:
            throw ConnectionError(.invalidArgument, "CANCEL payload must be empty, got \(length) bytes")
        case .ping where length != 8, .pong where length != 8:
            throw ConnectionError(.invalidArgument, "\(type) payload must be 8 bytes, got \(length)")
        default: break
        }
        self.init(payloadLength: Int(length), type: type, flags: flags, streamID: stream)
    }
}
