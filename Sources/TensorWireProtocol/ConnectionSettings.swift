/// Limits one side announces about what it accepts (in HELLO / HELLO_ACK).
///
/// Wire form: u16 count, then count × (u16 id, u64 value). Senders write all three known ids in
/// id order; receivers ignore unknown ids, reject duplicates and out-of-range values, and use the
/// default for an absent id.
public struct ConnectionSettings: Hashable, Sendable {
    /// Largest frame payload the sender accepts. Id 1.
    public var maxFrameSize: Int = 4 << 20
    /// Requests in flight the sender accepts. Id 2.
    public var maxConcurrentStreams: Int = 256
    /// Largest total key+value bytes of REQUEST/RESPONSE metadata the sender accepts. Id 3.
    public var maxMetadataSize: Int = 8192

    public init() {}

    public init(maxFrameSize: Int = 4 << 20, maxConcurrentStreams: Int = 256, maxMetadataSize: Int = 8192) {
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.maxMetadataSize = maxMetadataSize
    }

    public static let maxFrameSizeRange: ClosedRange<Int> = (16 << 10)...(64 << 20)
    public static let maxConcurrentStreamsRange: ClosedRange<Int> = 1...65536
    public static let maxMetadataSizeRange: ClosedRange<Int> = 0...(1 << 20)
    /// At most this many (id, value) entries may appear.
    public static let maxEntries = 32

    enum ID: UInt16 { case maxFrameSize = 1, maxConcurrentStreams = 2, maxMetadataSize = 3 }

    /// Whether every value lies in its allowed range.
    public var isValid: Bool {
        Self.maxFrameSizeRange.contains(maxFrameSize)
            && Self.maxConcurrentStreamsRange.contains(maxConcurrentStreams)
            && Self.maxMetadataSizeRange.contains(maxMetadataSize)
    }

    func encode(into writer: inout ByteWriter) {
        precondition(isValid, "ConnectionSettings out of range: \(self)")
        writer.writeUInt16(3)
        writer.writeUInt16(ID.maxFrameSize.rawValue); writer.writeUInt64(UInt64(maxFrameSize))
        writer.writeUInt16(ID.maxConcurrentStreams.rawValue); writer.writeUInt64(UInt64(maxConcurrentStreams))
        writer.writeUInt16(ID.maxMetadataSize.rawValue); writer.writeUInt64(UInt64(maxMetadataSize))
    }

    init(from reader: inout ByteReader) throws(Status) {
        self.init()
        let count = try reader.count(limit: Self.maxEntries, "settings count")
        var seen: UInt32 = 0  // bit per known id, to reject duplicates
        for _ in 0..<count {
            let rawID = try reader.u16("setting id")
            let value = try reader.u64("setting value")
            guard let id = ID(rawValue: rawID) else { continue }  // unknown: ignored
            guard seen & (1 << rawID) == 0 else { throw Status.invalid("duplicate setting id \(rawID)") }
            seen |= 1 << rawID
            let range: ClosedRange<Int> = switch id {
            case .maxFrameSize: Self.maxFrameSizeRange
            case .maxConcurrentStreams: Self.maxConcurrentStreamsRange
            case .maxMetadataSize: Self.maxMetadataSizeRange
            }
            guard value <= UInt64(range.upperBound), range.contains(Int(value)) else {
                throw Status.invalid("setting \(rawID) value \(value) outside \(range)")
            }
            switch id {
            case .maxFrameSize: maxFrameSize = Int(value)
            case .maxConcurrentStreams: maxConcurrentStreams = Int(value)
            case .maxMetadataSize: maxMetadataSize = Int(value)
            }
        }
    }
}
