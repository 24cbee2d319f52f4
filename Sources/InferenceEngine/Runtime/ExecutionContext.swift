/// What one `CompiledGraph.execute` call lends the kernels it runs: the model's intra-op
/// thread pool and the run's buffer arena.
///
/// It travels with the call rather than living in a global, so models with different
/// ``ModelOptions/intraOpThreads`` can run side by side.
struct ExecutionContext: Sendable {
    /// Threads a large operator may split its work over; nil runs everything on the caller.
    var pool: IntraOpPool?
    /// Where output buffers come from and intermediates go back to; nil allocates as usual.
    var arena: TensorArena? = nil

    /// Single-threaded execution.
    static let serial = ExecutionContext(pool: nil)
}
