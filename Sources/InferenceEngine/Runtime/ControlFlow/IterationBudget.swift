#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The iterations left to one outermost Loop or Scan run and every loop nested inside it.
///
/// A per-node cap alone would let a hostile model nest loops and multiply the caps (six levels
/// of 2^18), so the outermost control-flow kernel on a thread opens a budget of
/// ``ONNXLimits/maxLoopIterations`` and nested kernels draw from the same one. Subgraphs run
/// on the thread of the kernel that runs them, which is what makes a thread-local the right
/// home; the budget lives only for that outermost call.
final class IterationBudget {
    private(set) var remaining: Int

    private init(_ limit: Int) { remaining = limit }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with the thread's current budget, opening a fresh one if none is open.
    static func withCurrent<R>(_ body: (IterationBudget) throws(InferenceError) -> R) throws(InferenceError) -> R {
        if let current = pthread_getspecific(key) {
            return try body(Unmanaged<IterationBudget>.fromOpaque(current).takeUnretainedValue())
        }
        let budget = IterationBudget(ONNXLimits.maxLoopIterations)
        pthread_setspecific(key, Unmanaged.passUnretained(budget).toOpaque())
        defer { pthread_setspecific(key, nil) }
        return try withExtendedLifetime(budget) { () throws(InferenceError) -> R in try body(budget) }
    }

    /// Takes one iteration; false when none is left.
    func spend() -> Bool {
        guard remaining > 0 else { return false }
        remaining -= 1
        return true
    }
}
