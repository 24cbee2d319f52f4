/// Folds what follows a Gemm into its epilogue, applied to each tile while it is still in
/// registers: an activation (Relu, Sigmoid, Tanh, GELU, LeakyRelu, Clip with constant bounds)
/// and a residual Add of a tensor with the output's shape, in either order
/// (`act(x·W + b) + r` in transformer sublayers, `act(x·W + b + r)` in ResNet blocks).
struct GemmEpilogueFusion: OptimizationPass {
    let name = "gemm-epilogue-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            let node = graph.nodes[index]
            // Any C is fine: the executor adds beta·C before the epilogue runs.
            guard case .gemm(var attributes) = node.operation, !attributes.residual, attributes.activation == .none,
                  let chain = EpilogueMatcher.chain(after: node.outputs[0], graph) else { return false }
            attributes.activation = chain.activation
            attributes.residualBeforeActivation = chain.residualBeforeActivation
            var inputs = node.inputs
            if let residual = chain.residual {
                attributes.residual = true
                inputs += [Int](repeating: -1, count: max(0, 3 - inputs.count)) + [residual]
            }
            let group = chain.nodes.union([index])
            let fused = graph.node(named: graph.fusedName(Array(group)), opType: "FusedGemm", operation: .gemm(attributes),
                                   inputs: inputs, outputs: [chain.output])
            graph.replace(group, with: fused)
            return true
        }
    }
}
