/// Growable little-endian output buffer for outbound frames.
///
/// Noncopyable so that storage is uniquely owned without copy-on-write checks on every store;
/// ``clear()`` and ``discardPrefix(_:)`` keep the capacity so a connection's writer stops
/// allocating once it has seen its largest burst.
public struct ByteWriter: ~Copyable, @unchecked Sendable {
    // @unchecked: the storage is uniquely owned (noncopyable), so moving a writer between
    // tasks cannot create shared mutable state.
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Number of bytes written and not yet discarded.
    public private(set) var count: Int = 0

    public init(capacity: Int = 4096) {
        self.capacity = Swift.max(capacity, 64)
        storage = .allocate(byteCount: self.capacity, alignment: Alignment.boundary)
    }

    deinit { storage.deallocate() }

    /// Current capacity in bytes (grows geometrically, never shrinks).
    public var reservedCapacity: Int { capacity }

    /// The bytes written so far; valid only inside `body`.
    public func withUnsafeReadableBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    /// Forgets all bytes, keeping the capacity.
    public mutating func clear() { count = 0 }

    /// Drops the first `n` bytes (already handed to the socket), keeping the capacity.
    public mutating func discardPrefix(_ n: Int) {
        precondition(n >= 0 && n <= count, "discardPrefix out of range")
        if n == count { count = 0; return }
        (storage + 0).copyMemory(from: storage + n, byteCount: count - n)
        count -= n
    }

    /// Drops every byte after the first `n`, keeping the capacity; used to take back a frame that
    /// turned out not to be sendable (for example a response over the peer's frame size).
    public mutating func truncate(to n: Int) {
        precondition(n >= 0 && n <= count, "truncate out of range")
        count = n
    }

    /// Shrinks the storage to `keeping` bytes (or what the pending bytes need) after a burst of
    /// large frames. Allocates, so call it when idle, not per frame.
    public mutating func releaseExcessCapacity(keeping: Int = 4096) {
        let target = Swift.max(keeping, count, 64)
        guard target < capacity else { return }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: Alignment.boundary)
        newStorage.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = newStorage
        capacity = target
    }

    /// Ensures room for `n` more bytes.
    @inline(__always)
    public mutating func reserve(_ n: Int) {
        if capacity - count < n { grow(to: count + n) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity = newCapacity &* 2 }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: Alignment.boundary)
        newStorage.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    // MARK: Primitive writes

    @inline(__always)
    mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        storage.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    public mutating func writeUInt8(_ v: UInt8) { writeInteger(v) }
    public mutating func writeUInt16(_ v: UInt16) { writeInteger(v) }
    public mutating func writeUInt32(_ v: UInt32) { writeInteger(v) }
    public mutating func writeUInt64(_ v: UInt64) { writeInteger(v) }
    public mutating func writeInt64(_ v: Int64) { writeInteger(v) }

    /// Appends raw bytes verbatim.
    public mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage + count).copyMemory(from: src, byteCount: bytes.count)
        count += bytes.count
    }

    public mutating func writeBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeBytes($0) }
    }

    /// Appends `n` zero bytes.
    public mutating func writeZeros(_ n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (storage + count).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        count += n
    }

    /// Appends a u16-length-prefixed UTF-8 string.
    /// - Precondition: at most 65535 bytes (callers enforce the tighter protocol limits).
    public mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            precondition(utf8.count <= Int(UInt16.max), "string longer than 65535 bytes")
            writeUInt16(UInt16(utf8.count))
            writeBytes(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Zero padding so that the next byte sits at a multiple of 64 relative to `payloadStart`
    /// (the writer offset where the current frame's payload begins).
    public mutating func writePadding(payloadStart: Int) {
        writeZeros(Alignment.padding(for: count - payloadStart))
    }

    /// Reserves `n` bytes at the end and lets `fill` write them in place (e.g. an engine writing
    /// output tensor data straight into the send buffer). `fill` must initialize all `n` bytes.
    public mutating func writeInPlace(_ n: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        reserve(n)
        fill(UnsafeMutableRawBufferPointer(start: storage + count, count: n))
        count += n
    }

    /// Overwrites a u32 at `offset` (used to patch frame lengths after the payload is written).
    mutating func patchUInt32(_ v: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count)
        storage.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}
