/// How much the graph optimizer rewrites a model at load.
public enum OptimizationLevel: String, Sendable, CaseIterable {
    /// Run the graph as exported (after load-time constant folding, which every level does).
    case none
    /// Semantics-preserving clean-ups: constant folding, dead-node elimination, shape-subgraph
    /// folding, Conv+BatchNormalization folding, MatMul+Add → Gemm, transposes into GEMM operands.
    case basic
    /// `basic` plus operator fusion: GEMM/Conv epilogues, elementwise chains, GELU,
    /// LayerNormalization, residual+LayerNormalization and attention.
    case all
}

/// Load-time choices for a ``Model``.
public struct ModelOptions: Sendable, Equatable {
    /// Element types the caller can handle as outputs (see ``Model/allOutputTypes``).
    public var outputTypes: Set<ElementType>
    /// Graph optimizer level; results agree with ``OptimizationLevel/none`` within float32
    /// rounding (fused kernels change summation order and use fast approximations).
    public var optimization: OptimizationLevel
    /// Threads one `run` may use inside a single operator (large GEMMs and convolutions);
    /// 1 runs everything on the calling thread.
    public var intraOpThreads: Int
    /// Run each input shape through a per-shape execution plan (kernels bound to the shapes,
    /// intermediates in one liveness-planned arena, nothing allocated per request) once the
    /// first request with that shape has been run. Off runs every request on the general
    /// executor; results are the same either way (tests and benchmarks compare the two).
    public var plannedExecution: Bool

    public init(outputTypes: Set<ElementType> = [.float32], optimization: OptimizationLevel = .all, intraOpThreads: Int = 1,
                plannedExecution: Bool = true) {
        self.outputTypes = outputTypes
        self.optimization = optimization
        self.intraOpThreads = max(1, intraOpThreads)
        self.plannedExecution = plannedExecution
    }
}
