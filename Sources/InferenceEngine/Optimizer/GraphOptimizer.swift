/// Runs the optimization passes of a level over a compiled graph until none of them changes
/// anything (a fixed point), then re-derives liveness and the shape-only flags.
struct GraphOptimizer {
    let level: OptimizationLevel

    /// How often each pass changed the graph, for inspection and tests.
    struct Report: Sendable, Equatable {
        var applied: [String: Int] = [:]
        var rounds = 0
    }

    /// Upper bound on rounds: every pass shrinks or fuses the graph, so a fixed point comes
    /// long before this; the bound only guards against a pass that keeps "changing" forever.
    static let maxRounds = 32

    /// The passes of `level`, in the order they run each round. Cleanups first so that
    /// pattern passes see folded constants; fusions that need others' results come after them
    /// (GELU before the GEMM epilogue that absorbs it, epilogues before generic elementwise
    /// chains, which would otherwise swallow the activations); the layout change last, on the
    /// fused Convs).
    static func passes(for level: OptimizationLevel) -> [any OptimizationPass] {
        switch level {
        case .none:
            return []
        case .basic:
            return basicPasses
        case .all:
            return basicPasses + [
                GeluFusion(),
                LayerNormFusion(),
                AttentionFusion(),
                GemmEpilogueFusion(),
                ConvEpilogueFusion(),
                ResidualLayerNormFusion(),
                ElementwiseChainFusion(),
                ChannelBlocking(),
            ]
        }
    }

    private static var basicPasses: [any OptimizationPass] {
        [ConstantFolding(), ShapeSubgraphFolding(), DeadNodeElimination(), ConvBatchNormFolding(),
         GemmBiasFusion(), TransposeIntoGemm()]
    }

    func optimize(_ graph: CompiledGraph) throws(ModelLoadError) -> (graph: CompiledGraph, report: Report) {
        let passes = Self.passes(for: level)
        var report = Report()
        guard !passes.isEmpty else { return (graph, report) }
        var working = OptimizerGraph(graph)
        var changed = true
        while changed && report.rounds < Self.maxRounds {
            changed = false
            report.rounds += 1
            for pass in passes where try pass.run(on: &working) {
                report.applied[pass.name, default: 0] += 1
                changed = true
            }
        }
        return (working.finished(), report)
    }
}
