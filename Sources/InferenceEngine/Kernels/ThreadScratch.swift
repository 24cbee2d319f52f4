#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One growable, 64-byte-aligned float buffer per thread and purpose, kept for the thread's
/// life (freed by the key's destructor when the thread exits).
///
/// Small kernels take well under a microsecond, so a malloc/free pair (and fresh pages) per
/// call was a visible share of them. A thread runs one kernel region at a time, so a buffer is
/// never handed out twice; the separate instances let a kernel hold one while it calls into
/// another that uses its own (Conv holds ``window`` while it calls the GEMM, which uses ``gemm``).
final class ThreadScratch: Sendable {
    /// The GEMM driver's packed A block and edge tile.
    static let gemm = ThreadScratch(purpose: "GEMM")
    /// The sliding-window kernels' padded planes (Conv's direct and depthwise paths, pools).
    static let window = ThreadScratch(purpose: "window")

    private let key: pthread_key_t
    private let purpose: String

    private init(purpose: String) {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        self.key = key
        self.purpose = purpose
    }

    /// Capacity header in front of the floats, one cache line so the floats stay aligned.
    private static let header = 64

    /// At least `count` floats, valid until this thread's next call on this instance.
    func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        if let raw = pthread_getspecific(key), raw.load(as: Int.self) >= bytes {
            return (raw + Self.header).assumingMemoryBound(to: Float.self)
        }
        free(pthread_getspecific(key))
        var raw: UnsafeMutableRawPointer?
        let capacity = max(bytes, 64 * 1024)
        guard posix_memalign(&raw, 64, Self.header + capacity) == 0, let raw else { fatalError("\(purpose) scratch: out of memory") }
        raw.storeBytes(of: capacity, as: Int.self)
        pthread_setspecific(key, raw)
        return (raw + Self.header).bindMemory(to: Float.self, capacity: capacity / MemoryLayout<Float>.stride)
    }
}
