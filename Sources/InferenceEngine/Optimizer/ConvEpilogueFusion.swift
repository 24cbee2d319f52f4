/// Folds an activation and a residual Add after a Conv into its epilogue (see
/// ``ConvKernel/fused(activation:residual:residualBeforeActivation:)``): each output row gets
/// bias, residual and activation while it is still in cache, and is written once.
struct ConvEpilogueFusion: OptimizationPass {
    let name = "conv-epilogue-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        var changed = false
        var index = 0
        while index < graph.nodes.count {
            defer { index += 1 }
            let node = graph.nodes[index]
            guard node.opType == "Conv", case .kernel(let k as ConvKernel) = node.operation,
                  k.activation == .none, !k.residual, node.outputs.count == 1 else { continue }
            var activation = EpilogueActivation.none
            var residualSlot: Int?
            var residualFirst = false
            var group: Set<Int> = [index]
            var output = node.outputs[0]
            if let (reader, act) = EpilogueMatcher.activation(after: output, graph) {
                activation = act
                group.insert(reader)
                output = graph.nodes[reader].outputs[0]
            }
            if let (reader, residual) = EpilogueMatcher.residual(after: output, graph) {
                residualSlot = residual
                group.insert(reader)
                output = graph.nodes[reader].outputs[0]
                if activation == .none, let (act, a) = EpilogueMatcher.activation(after: output, graph) {
                    activation = a
                    residualFirst = true
                    group.insert(act)
                    output = graph.nodes[act].outputs[0]
                }
            }
            guard group.count > 1 else { continue }
            var inputs = node.inputs
            while inputs.count < 3 { inputs.append(-1) }
            if let residualSlot { inputs = Array(inputs.prefix(3)) + [residualSlot] }
            let kernel = k.fused(activation: activation, residual: residualSlot != nil, residualBeforeActivation: residualFirst)
            let fused = graph.node(named: graph.fusedName(Array(group)), opType: "FusedConv", operation: .kernel(kernel),
                                   inputs: inputs, outputs: [output])
            graph.replace(group, with: fused)
            changed = true
            index = -1
        }
        return changed
    }
}
