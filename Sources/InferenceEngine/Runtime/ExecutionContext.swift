/// What one `CompiledGraph.execute` call lends the kernels it runs: today, the model's
/// intra-op thread pool.
///
/// It travels with the call rather than living in a global, so models with different
/// ``ModelOptions/intraOpThreads`` can run side by side.
struct ExecutionContext: Sendable {
    /// Threads a large operator may split its work over; nil runs everything on the caller.
    var pool: IntraOpPool?

    /// Single-threaded execution.
    static let serial = ExecutionContext(pool: nil)
}
