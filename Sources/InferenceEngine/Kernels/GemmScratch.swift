#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One growable, 64-byte-aligned float buffer per thread for the GEMM driver's packed A block
/// and edge tile.
///
/// Small GEMMs (a batch-3 MLP layer, one attention head) take well under a microsecond, so a
/// malloc/free pair per call was a visible share of them; the buffer is kept for the thread's
/// life instead (freed by the key's destructor when the thread exits). A thread runs one GEMM
/// region at a time, so it never hands the buffer out twice.
enum GemmScratch {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Capacity header in front of the floats, one cache line so the floats stay aligned.
    private static let header = 64

    /// At least `count` floats, valid until this thread's next call.
    static func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = count * MemoryLayout<Float>.stride
        if let raw = pthread_getspecific(key), raw.load(as: Int.self) >= bytes {
            return (raw + header).assumingMemoryBound(to: Float.self)
        }
        free(pthread_getspecific(key))
        var raw: UnsafeMutableRawPointer?
        let capacity = max(bytes, 64 * 1024)
        guard posix_memalign(&raw, 64, header + capacity) == 0, let raw else { fatalError("GemmScratch: out of memory") }
        raw.storeBytes(of: capacity, as: Int.self)
        pthread_setspecific(key, raw)
        return (raw + header).bindMemory(to: Float.self, capacity: capacity / MemoryLayout<Float>.stride)
    }
}
