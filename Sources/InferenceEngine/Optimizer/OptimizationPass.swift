/// One rewrite of the graph. Passes run repeatedly, in order, until none changes anything.
protocol OptimizationPass {
    /// Shown by `model inspect --optimized` and in tests.
    var name: String { get }
    /// Rewrites `graph` and reports whether it changed anything. A pass must leave the graph
    /// computing the same outputs (within float32 rounding) for every input the unoptimized
    /// graph accepts.
    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool
}
