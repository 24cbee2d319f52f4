/// Folds an inference-mode BatchNormalization into the Conv before it:
/// `W'[o] = W[o]·s[o]`, `B'[o] = (B[o] − mean[o])·s[o] + beta[o]` with `s = gamma/√(var + ε)`
/// (``ConvKernel/foldingBatchNorm(scale:bias:mean:variance:epsilon:)``).
///
/// Only when the Conv's weights are constants (captured in the kernel at load), all four
/// BatchNormalization parameters are constants, and the Conv output feeds nothing else.
struct ConvBatchNormFolding: OptimizationPass {
    let name = "conv-batchnorm-folding"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            let bn = graph.nodes[index]
            guard bn.opType == "BatchNormalization", case .kernel(let k as BatchNormKernel) = bn.operation,
                  bn.inputs.count == 5, bn.outputs.count >= 1, graph.onlyFirstOutputUsed(index),
                  let conv = graph.producer(of: bn.inputs[0], opType: "Conv"), graph.soleReader(of: bn.inputs[0]) == index,
                  conv.node.outputs.count == 1, case .kernel(let c as ConvKernel) = conv.node.operation else { return false }
            let params = bn.inputs[1...4].compactMap { graph.constant($0)?.floats }
            guard params.count == 4,
                  let folded = c.foldingBatchNorm(scale: params[0], bias: params[1], mean: params[2], variance: params[3], epsilon: k.epsilon)
            else { return false }
            var node = conv.node
            node.operation = .kernel(folded)
            // The folded kernel carries its weights; the original W and B are no longer read.
            node.inputs = [node.inputs[0], -1, -1]
            node.outputs = [bn.outputs[0]]
            node.inferred = [graph.shape(bn.outputs[0])]
            node.name = graph.fusedName([conv.index, index])
            graph.replace([conv.index, index], with: node)
            return true
        }
    }
}
