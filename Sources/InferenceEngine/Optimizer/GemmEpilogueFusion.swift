/// Folds what follows a Gemm into its epilogue, applied to each tile while it is still in
/// registers: an activation (Relu, Sigmoid, Tanh, GELU, LeakyRelu, Clip with constant bounds)
/// and a residual Add of a tensor with the output's shape, in either order
/// (`act(x·W + b) + r` in transformer sublayers, `act(x·W + b + r)` in ResNet blocks).
struct GemmEpilogueFusion: OptimizationPass {
    let name = "gemm-epilogue-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        var changed = false
        var index = 0
        while index < graph.nodes.count {
            defer { index += 1 }
            let node = graph.nodes[index]
            // Any C is fine: the executor adds beta·C before the epilogue runs.
            guard case .gemm(var attributes) = node.operation, !attributes.residual, attributes.activation == .none else { continue }
            var inputs = node.inputs
            var group: Set<Int> = [index]
            var output = node.outputs[0]
            if let (reader, activation) = EpilogueMatcher.activation(after: output, graph) {
                attributes.activation = activation
                group.insert(reader)
                output = graph.nodes[reader].outputs[0]
            }
            if let (reader, residual) = EpilogueMatcher.residual(after: output, graph) {
                attributes.residual = true
                inputs += [Int](repeating: -1, count: max(0, 3 - inputs.count)) + [residual]
                group.insert(reader)
                output = graph.nodes[reader].outputs[0]
                // A residual before any activation may still be followed by one (ResNet).
                if attributes.activation == .none, let (act, activation) = EpilogueMatcher.activation(after: output, graph) {
                    attributes.activation = activation
                    attributes.residualBeforeActivation = true
                    group.insert(act)
                    output = graph.nodes[act].outputs[0]
                }
            }
            guard group.count > 1 else { continue }
            let fused = graph.node(named: graph.fusedName(Array(group)), opType: "FusedGemm", operation: .gemm(attributes),
                                   inputs: inputs, outputs: [output])
            graph.replace(group, with: fused)
            changed = true
            index = -1   // indices shifted: look again from the start
        }
        return changed
    }
}
