/// A growable FIFO of bytes backing a connection's outbound buffer.
///
/// It only ever appends at the tail and consumes from the head, so after `SSL_write` reports
/// WANT_WRITE the retry still starts with the same bytes (OpenSSL requires that); the storage may
/// move, which `SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER` allows.
final class ByteQueue {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var head = 0
    private var tail = 0
    /// Keep up to this much capacity when the queue drains, so steady traffic does not reallocate
    /// but a one-off large response does not pin memory for the life of the connection.
    private static let retainedCapacity = 256 * 1024

    var count: Int { tail - head }

    deinit { storage?.deallocate() }

    func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0, let source = bytes.baseAddress else { return }
        if capacity - tail < n {
            let live = count
            if live + n <= capacity, let storage {
                storage.copyMemory(from: storage + head, byteCount: live)
            } else {
                let newCapacity = max(capacity * 2, live + n, 16 * 1024)
                let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
                if let storage {
                    newStorage.copyMemory(from: storage + head, byteCount: live)
                    storage.deallocate()
                }
                storage = newStorage
                capacity = newCapacity
            }
            head = 0
            tail = live
        }
        (storage! + tail).copyMemory(from: source, byteCount: n)
        tail += n
    }

    func withReadable<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: storage.map { $0 + head }, count: count))
    }

    func consume(_ n: Int) {
        head += n
        if head == tail {
            head = 0
            tail = 0
            if capacity > Self.retainedCapacity { release() }
        }
    }

    func release() {
        storage?.deallocate()
        storage = nil
        capacity = 0
        head = 0
        tail = 0
    }
}
