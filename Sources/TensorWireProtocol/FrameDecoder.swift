/// A complete frame borrowed from a ``FrameDecoder``.
///
/// `payload` is 64-byte aligned and valid only until the next call to `append` or `next` on the
/// decoder that produced it; copy anything that must outlive that.
public struct FrameView {
    public let header: FrameHeader
    public let payload: UnsafeRawBufferPointer
}

/// Incremental, bounded frame decoder for one connection: bytes in, frames out; never owns a
/// socket. Usable from one thread/task at a time.
///
/// Besides framing it enforces the rules that need only the byte stream (PROTOCOL.md §4-5):
/// the preface (server side), the frame size limit (checked from the header, before any payload
/// is buffered), reserved bits, unknown types, stream-0 rules, frame direction, HELLO/HELLO_ACK
/// first, and strictly increasing REQUEST stream ids. After the first error every call to
/// ``next()`` rethrows it.
///
/// Buffering: bytes are copied into one 64-byte-aligned buffer that is reused. Frame headers are
/// kept at offset 52 mod 64 where possible so the payload that follows is aligned in place;
/// a misaligned payload is copied to an aligned scratch area (small frames) or the buffered
/// bytes are moved down (large frames). After warm-up no call allocates. The buffer grows to
/// hold the unconsumed bytes plus the next `append`, i.e. to about header + max payload + one
/// read when the caller appends in read-sized chunks.
public struct FrameDecoder: ~Copyable, @unchecked Sendable {
    // @unchecked: storage is uniquely owned by this noncopyable value; no sharing is possible.

    /// Frames whose payload is at most this size are realigned by copying into `scratch`;
    /// larger ones by moving the buffered bytes, so realignment stays linear in practice.
    static let scratchSize = 16 << 10
    /// Buffer offset where a header must start for its payload to be 64-byte aligned.
    static let headerSlot = Alignment.boundary - FrameHeader.size

    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private let scratch: UnsafeMutableRawPointer
    private var start: Int
    private var end: Int
    /// Size of the frame handed out by the last `next()`, released on the following call.
    private var pendingConsume = 0
    private var prefaceOffset: Int
    private let isServer: Bool
    private var handshakeDone = false
    private var lastRequestStreamID: UInt32 = 0
    private var failure: ConnectionError?

    /// Largest accepted payload. Must stay within ``ConnectionSettings/maxFrameSizeRange``.
    /// Raise it once settings are agreed (it is the value this side advertised in HELLO/HELLO_ACK).
    public var maxPayloadSize: Int {
        didSet { precondition(ConnectionSettings.maxFrameSizeRange.contains(maxPayloadSize), "maxPayloadSize out of range") }
    }

    /// - Parameters:
    ///   - maxPayloadSize: largest accepted payload (default 4 MiB, allowed 16 KiB...64 MiB).
    ///   - expectsPreface: `true` on the server side: the 8-byte preface is checked first, the
    ///     first frame must be HELLO and only client-sent frame types are accepted. `false` on the
    ///     client side: the first frame must be HELLO_ACK or GOAWAY, only server-sent types.
    public init(maxPayloadSize: Int = 4 << 20, expectsPreface: Bool) {
        precondition(ConnectionSettings.maxFrameSizeRange.contains(maxPayloadSize), "maxPayloadSize out of range")
        self.maxPayloadSize = maxPayloadSize
        isServer = expectsPreface
        prefaceOffset = expectsPreface ? 0 : ConnectionPreface.length
        capacity = 64 << 10
        storage = .allocate(byteCount: capacity, alignment: Alignment.boundary)
        scratch = .allocate(byteCount: Self.scratchSize, alignment: Alignment.boundary)
        start = Self.headerSlot
        end = Self.headerSlot
    }

    deinit {
        storage.deallocate()
        scratch.deallocate()
    }

    /// Bytes appended but not yet returned as frames.
    public var bufferedByteCount: Int { end - start - pendingConsume }

    /// Current buffer capacity (diagnostics; never shrinks).
    public var bufferCapacity: Int { capacity }

    /// Shrinks the buffer back to `keeping` bytes (or what the unconsumed bytes need) after a
    /// burst of large frames, so idle connections do not pin up to 64 MiB each. Invalidates the
    /// last returned ``FrameView``. Allocates, so call it when idle, not per frame.
    public mutating func releaseExcessCapacity(keeping: Int = 64 << 10) {
        releasePrevious()
        let live = end - start
        let target = Swift.max(keeping, Self.headerSlot + live, Alignment.boundary)
        guard target < capacity else { return }
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: Alignment.boundary)
        (newStorage + Self.headerSlot).copyMemory(from: storage + start, byteCount: live)
        storage.deallocate()
        storage = newStorage
        capacity = target
        start = Self.headerSlot
        end = start + live
    }

    /// Copies `bytes` into the internal buffer. Invalidates the last returned ``FrameView``.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        let dst = reserveTail(bytes.count)
        dst.copyMemory(from: src, byteCount: bytes.count)
        end += bytes.count
    }

    /// Lets the transport read straight into the buffer: `fill` receives at least
    /// `minimumCount` writable bytes and returns how many it wrote. Avoids the copy of ``append(_:)``.
    /// Invalidates the last returned ``FrameView``.
    @discardableResult
    public mutating func appendInPlace(minimumCount: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows -> Int {
        let dst = reserveTail(minimumCount)
        let written = try fill(UnsafeMutableRawBufferPointer(start: dst, count: capacity - end))
        precondition(written >= 0 && written <= capacity - end, "appendInPlace: bad byte count")
        end += written
        return written
    }

    /// Releases the previous frame and makes room for `n` bytes at `end`.
    private mutating func reserveTail(_ n: Int) -> UnsafeMutableRawPointer {
        releasePrevious()
        if capacity - end < n {
            let live = end - start
            let needed = Self.headerSlot + live + n
            if needed <= capacity {
                (storage + Self.headerSlot).copyMemory(from: storage + start, byteCount: live)
            } else {
                var newCapacity = capacity
                while newCapacity < needed { newCapacity &*= 2 }
                let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: Alignment.boundary)
                (newStorage + Self.headerSlot).copyMemory(from: storage + start, byteCount: live)
                storage.deallocate()
                storage = newStorage
                capacity = newCapacity
            }
            start = Self.headerSlot
            end = start + live
        }
        return storage + end
    }

    @inline(__always)
    private mutating func releasePrevious() {
        start += pendingConsume
        pendingConsume = 0
        if start == end { start = Self.headerSlot; end = Self.headerSlot }
    }

    /// Returns the next complete frame, or nil when more bytes are needed.
    ///
    /// - Throws: ``ConnectionError`` for any connection-level violation; the caller sends
    ///   GOAWAY with its code and closes. Sticky: later calls throw the same error.
    public mutating func next() throws(ConnectionError) -> FrameView? {
        releasePrevious()
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func decodeNext() throws(ConnectionError) -> FrameView? {
        if prefaceOffset < ConnectionPreface.length {
            // Compare byte by byte so an HTTP or plaintext client is rejected on its first byte.
            while prefaceOffset < ConnectionPreface.length {
                guard start < end else { return nil }
                let byte = storage.load(fromByteOffset: start, as: UInt8.self)
                guard byte == ConnectionPreface.bytes[prefaceOffset] else {
                    throw ConnectionError(.invalidArgument, "bad connection preface")
                }
                start += 1
                prefaceOffset += 1
            }
            if start == end { start = Self.headerSlot; end = Self.headerSlot }
        }
        guard end - start >= FrameHeader.size else { return nil }
        let header = try FrameHeader(validating: UnsafeRawBufferPointer(start: storage + start, count: FrameHeader.size))
        guard header.payloadLength <= maxPayloadSize else {
            throw ConnectionError(.resourceExhausted, "frame payload \(header.payloadLength) exceeds limit \(maxPayloadSize)")
        }
        try checkOrdering(header)
        let frameSize = FrameHeader.size + header.payloadLength
        guard end - start >= frameSize else { return nil }

        // Everything checked: commit connection state and hand out the payload.
        switch header.type {
        case .hello, .helloAck, .goAway: handshakeDone = true
        case .request: lastRequestStreamID = header.streamID
        default: break
        }
        var payloadStart = storage + start + FrameHeader.size
        if Int(bitPattern: payloadStart) & (Alignment.boundary - 1) != 0 {
            if header.payloadLength <= Self.scratchSize {
                scratch.copyMemory(from: payloadStart, byteCount: header.payloadLength)
                payloadStart = scratch
            } else {
                let live = end - start
                (storage + Self.headerSlot).copyMemory(from: storage + start, byteCount: live)
                start = Self.headerSlot
                end = start + live
                payloadStart = storage + start + FrameHeader.size
            }
        }
        pendingConsume = frameSize
        return FrameView(header: header, payload: UnsafeRawBufferPointer(start: payloadStart, count: header.payloadLength))
    }

    /// Direction and ordering rules (PROTOCOL.md §5). Pure: state is committed only once the
    /// whole frame is delivered, because this runs again while the payload is still arriving.
    private func checkOrdering(_ header: FrameHeader) throws(ConnectionError) {
        let type = header.type
        guard isServer ? type.sentByClient : type.sentByServer else {
            throw ConnectionError(.invalidArgument, "\(type) may not be sent by the \(isServer ? "client" : "server")")
        }
        if !handshakeDone {
            let allowed = isServer ? type == .hello : (type == .helloAck || type == .goAway)
            guard allowed else {
                throw ConnectionError(.invalidArgument, "\(type) before \(isServer ? "HELLO" : "HELLO_ACK")")
            }
        } else if type == .hello || type == .helloAck {
            throw ConnectionError(.invalidArgument, "duplicate \(type)")
        }
        if type == .request, header.streamID <= lastRequestStreamID {
            throw ConnectionError(.invalidArgument, "REQUEST stream id \(header.streamID) not above \(lastRequestStreamID)")
        }
    }
}
