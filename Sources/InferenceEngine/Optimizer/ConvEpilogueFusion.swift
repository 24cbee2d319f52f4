/// Folds an activation and a residual Add after a Conv into its epilogue (see
/// ``ConvKernel/fused(activation:residual:residualBeforeActivation:)``): each output row gets
/// bias, residual and activation while it is still in cache, and is written once.
struct ConvEpilogueFusion: OptimizationPass {
    let name = "conv-epilogue-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            let node = graph.nodes[index]
            guard node.opType == "Conv", case .kernel(let k as ConvKernel) = node.operation,
                  k.activation == .none, !k.residual, node.outputs.count == 1,
                  let chain = EpilogueMatcher.chain(after: node.outputs[0], graph) else { return false }
            var inputs = node.inputs
            while inputs.count < 3 { inputs.append(-1) }
            if let residual = chain.residual { inputs = Array(inputs.prefix(3)) + [residual] }
            let kernel = k.fused(activation: chain.activation, residual: chain.residual != nil,
                                 residualBeforeActivation: chain.residualBeforeActivation)
            let group = chain.nodes.union([index])
            let fused = graph.node(named: graph.fusedName(Array(group)), opType: "FusedConv", operation: .kernel(kernel),
                                   inputs: inputs, outputs: [chain.output])
            graph.replace(group, with: fused)
            return true
        }
    }
}
