/// Ordered key/value pairs attached to a REQUEST or RESPONSE (like HTTP headers).
///
/// Keys are 1...64 bytes of `[a-z0-9-_.]`, values printable ASCII (0x20...0x7E); duplicates
/// are allowed and keep their order. Wire form: u16 count, count × (string key, string value).
public struct Metadata: Hashable, Sendable, ExpressibleByDictionaryLiteral, Sequence {
    public struct Entry: Hashable, Sendable {
        public var key: String
        public var value: String
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }

    public static let maxKeyLength = 64

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The first value for `key`, if any.
    public subscript(key: String) -> String? {
        entries.first(where: { $0.key == key })?.value
    }

    /// All values for `key`, in order.
    public func values(for key: String) -> [String] {
        entries.filter { $0.key == key }.map(\.value)
    }

    public mutating func append(_ key: String, _ value: String) {
        entries.append(Entry(key: key, value: value))
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        entries.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }

    // MARK: Validation

    static func isKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x2E
    }

    static func isValueByte(_ b: UInt8) -> Bool { b >= 0x20 && b <= 0x7E }

    /// Checks the same rules a receiver applies, so senders can reject bad metadata early.
    public func validate(limits: MessageLimits = .default) throws(Status) {
        guard entries.count <= limits.maxMetadataEntries else {
            throw Status.invalid("metadata has \(entries.count) entries, limit \(limits.maxMetadataEntries)")
        }
        var total = 0
        for e in entries {
            let key = Array(e.key.utf8), value = Array(e.value.utf8)
            guard !key.isEmpty, key.count <= Self.maxKeyLength, key.allSatisfy(Self.isKeyByte) else {
                throw Status.invalid("invalid metadata key \"\(e.key)\"")
            }
            guard value.allSatisfy(Self.isValueByte) else {
                throw Status.invalid("metadata value for \"\(e.key)\" is not printable ASCII")
            }
            total += key.count + value.count
        }
        guard total <= limits.maxMetadataSize else {
            throw Status.invalid("metadata is \(total) bytes, limit \(limits.maxMetadataSize)")
        }
    }

    // MARK: Wire

    func encode(into writer: inout ByteWriter) {
        precondition(entries.count <= Int(UInt16.max))
        writer.writeUInt16(UInt16(entries.count))
        for e in entries {
            writer.writeString(e.key)
            writer.writeString(e.value)
        }
    }

    init(from r: inout ByteReader, limits: MessageLimits) throws(Status) {
        let n = try r.count(limit: limits.maxMetadataEntries, "metadata count")
        var budget = limits.maxMetadataSize
        entries.reserveCapacity(n)
        for _ in 0..<n {
            let key = try r.stringBytes(maxLength: Self.maxKeyLength, "metadata key")
            guard !key.isEmpty, key.allSatisfy(Self.isKeyByte) else {
                throw Status.invalid("invalid metadata key \"\(String(decoding: key, as: UTF8.self))\"")
            }
            // The size budget bounds the value before its bytes are touched.
            let value = try r.stringBytes(maxLength: Swift.max(0, budget - key.count), "metadata value")
            guard value.allSatisfy(Self.isValueByte) else {
                throw Status.invalid("metadata value is not printable ASCII")
            }
            budget -= key.count + value.count
            guard budget >= 0 else { throw Status.invalid("metadata exceeds \(limits.maxMetadataSize) bytes") }
            entries.append(Entry(key: String(decoding: key, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
    }
}
