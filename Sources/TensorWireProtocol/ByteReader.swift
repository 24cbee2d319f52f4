/// Bounds-checked little-endian cursor over a borrowed buffer. Every read throws
/// INVALID_ARGUMENT on truncation; the buffer is never read past its end.
///
/// `origin` is the offset of `bytes` within the frame payload, so 64-byte alignment of tensor
/// data can be computed relative to the payload start as the spec requires.
struct ByteReader {
    let base: UnsafeRawPointer?
    let count: Int
    let origin: Int
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, origin: Int = 0) {
        base = bytes.baseAddress
        count = bytes.count
        self.origin = origin
    }

    var remaining: Int { count - offset }
    var isAtEnd: Bool { offset == count }

    @inline(__always)
    private mutating func advance(_ n: Int, _ what: StaticString) throws(Status) -> Int {
        guard n <= count - offset else { throw Status.invalid("truncated \(what)") }
        let at = offset
        offset += n
        return at
    }

    @inline(__always)
    mutating func readInteger<T: FixedWidthInteger>(_ type: T.Type, _ what: StaticString) throws(Status) -> T {
        let at = try advance(MemoryLayout<T>.size, what)
        return T(littleEndian: base!.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    mutating func u8(_ what: StaticString) throws(Status) -> UInt8 { try readInteger(UInt8.self, what) }
    mutating func u16(_ what: StaticString) throws(Status) -> UInt16 { try readInteger(UInt16.self, what) }
    mutating func u32(_ what: StaticString) throws(Status) -> UInt32 { try readInteger(UInt32.self, what) }
    mutating func u64(_ what: StaticString) throws(Status) -> UInt64 { try readInteger(UInt64.self, what) }
    mutating func i64(_ what: StaticString) throws(Status) -> Int64 { try readInteger(Int64.self, what) }

    /// A 0/1 byte; anything else is malformed.
    mutating func bool(_ what: StaticString) throws(Status) -> Bool {
        switch try u8(what) {
        case 0: return false
        case 1: return true
        case let v: throw Status.invalid("\(what) must be 0 or 1, got \(v)")
        }
    }

    /// `n` raw bytes, borrowed from the underlying buffer.
    mutating func bytes(_ n: Int, _ what: StaticString) throws(Status) -> UnsafeRawBufferPointer {
        let at = try advance(n, what)
        return UnsafeRawBufferPointer(start: base.map { $0 + at }, count: n)
    }

    /// The raw bytes of a u16-length-prefixed string, checked against `maxLength` before use.
    mutating func stringBytes(maxLength: Int, _ what: StaticString) throws(Status) -> UnsafeRawBufferPointer {
        let length = Int(try u16(what))
        guard length <= maxLength else {
            throw Status.invalid("\(what) is \(length) bytes, limit \(maxLength)")
        }
        return try bytes(length, what)
    }

    /// A u16-length-prefixed string that must be valid UTF-8.
    mutating func string(maxLength: Int, _ what: StaticString) throws(Status) -> String {
        let raw = try stringBytes(maxLength: maxLength, what)
        guard let s = String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw Status.invalid("\(what) is not valid UTF-8")
        }
        return s
    }

    /// A u16 count checked against `limit` before anything is allocated for the elements.
    mutating func count(limit: Int, _ what: StaticString) throws(Status) -> Int {
        let n = Int(try u16(what))
        guard n <= limit else { throw Status.invalid("\(what) \(n) exceeds limit \(limit)") }
        return n
    }

    /// Skips zero padding up to the next multiple of 64 relative to the payload start.
    /// Padding content is ignored on receive (spec: zero on send, ignored on receive).
    mutating func skipPadding(_ what: StaticString) throws(Status) {
        let pad = Alignment.padding(for: origin + offset)
        _ = try advance(pad, what)
    }

    /// Trailing bytes after a complete message are malformed.
    func expectEnd(_ what: StaticString) throws(Status) {
        guard isAtEnd else { throw Status.invalid("\(remaining) trailing bytes after \(what)") }
    }
}

/// Alignment rule for tensor data and bodies.
enum Alignment {
    static let boundary = 64

    /// Bytes needed to move `offset` to the next multiple of 64 (0 if already aligned).
    @inline(__always)
    static func padding(for offset: Int) -> Int { (boundary - offset & (boundary - 1)) & (boundary - 1) }
}
