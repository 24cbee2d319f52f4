/// Removes nodes none of whose outputs is read by another node or is a graph output (e.g.
/// the mean/inv-std outputs of LayerNormalization left over after fusion, or dropout masks).
struct DeadNodeElimination: OptimizationPass {
    let name = "dead-node-elimination"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        var changed = false
        while true {
            var dead = Set<Int>()
            for (i, node) in graph.nodes.enumerated() {
                let live = node.outputs.contains { $0 >= 0 && (graph.isGraphOutput($0) || !graph.readers(of: $0).isEmpty) }
                if !live { dead.insert(i) }
            }
            if dead.isEmpty { return changed }
            graph.remove(dead)
            changed = true
        }
    }
}
