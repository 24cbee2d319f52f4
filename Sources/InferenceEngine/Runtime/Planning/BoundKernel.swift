/// A node's kernel with everything that depends on the input shapes worked out once, when a
/// ``ShapePlan`` is made: sizes, strides, broadcast patterns, tap tables, scratch needs. A run
/// is then arithmetic on the pointers of ``BoundIO``: no shapes computed, no arrays built and
/// nothing allocated, which is what makes steady-state inference allocation-free and keeps the
/// per-node cost at a virtual call.
///
/// Bound kernels are shared by every concurrent run of their plan, so they hold no mutable
/// state; per-run memory is the plan's arena (``BoundIO/scratch`` included).
protocol BoundKernel: AnyObject, Sendable {
    /// Bytes of per-run scratch memory ``execute`` needs (0 by default). The plan places it in
    /// the arena beside values that are not live during this node.
    var scratchBytes: Int { get }

    /// Whether `execute` reads input `index` through ``BoundIO``. A kernel that captured a
    /// constant input at load (packed GEMM weights, Conv filters, recurrent weights) returns
    /// false for it, so the plan does not keep a second copy of the constant.
    func readsInput(_ index: Int) -> Bool

    /// Computes the outputs from the inputs. Throws only for what depends on input data (an
    /// index out of range), since shapes were checked when the kernel was bound.
    func execute(_ io: BoundIO, _ context: ExecutionContext) throws(InferenceError)
}

extension BoundKernel {
    var scratchBytes: Int { 0 }
    func readsInput(_ index: Int) -> Bool { true }
}

/// How a node takes part in a ``ShapePlan``.
enum KernelBinding {
    /// A kernel that computes its outputs into the memory the plan assigns.
    case compute(any BoundKernel)
    /// Output 0 is input 0's bytes viewed under another shape (Reshape, Flatten, Squeeze,
    /// Unsqueeze, Identity): the plan gives both the same memory and runs nothing.
    case alias
}

extension NodeKernel {
    /// Operators that have not been given a bound form keep the model on the general executor
    /// (it still runs them, allocating their results per request).
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        nil
    }
}
