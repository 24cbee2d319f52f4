#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Folds an inference-mode BatchNormalization into the Conv before it:
/// `W'[o] = W[o]·s[o]`, `B'[o] = (B[o] − mean[o])·s[o] + beta[o]` with `s = gamma/√(var + ε)`.
///
/// Only when the weights and all four BatchNormalization parameters are constants and the
/// Conv output feeds nothing else.
struct ConvBatchNormFolding: OptimizationPass {
    let name = "conv-batchnorm-folding"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        var changed = false
        var index = 0
        while index < graph.nodes.count {
            if let rewrite = match(index, graph) {
                let convIndex = rewrite.conv
                var conv = graph.nodes[convIndex]
                let wSlot = graph.addConstant(rewrite.weights)
                let bSlot = graph.addConstant(rewrite.bias)
                conv.inputs = [conv.inputs[0], wSlot, bSlot]
                conv.outputs = [graph.nodes[index].outputs[0]]
                conv.inferred = [graph.shape(conv.outputs[0])]
                conv.name = graph.fusedName([convIndex, index])
                graph.replace([convIndex, index], with: conv)
                changed = true
            } else {
                index += 1
            }
        }
        return changed
    }

    private struct Rewrite { var conv: Int; var weights: Tensor; var bias: Tensor }

    private func match(_ index: Int, _ graph: OptimizerGraph) -> Rewrite? {
        let bn = graph.nodes[index]
        guard bn.opType == "BatchNormalization", case .kernel(let k) = bn.operation, let kernel = k as? BatchNormKernel,
              bn.inputs.count == 5, bn.outputs.count >= 1,
              bn.outputs.dropFirst().allSatisfy({ $0 < 0 || (graph.readers(of: $0).isEmpty && !graph.isGraphOutput($0)) }),
              let conv = graph.producer(of: bn.inputs[0], opType: "Conv"), graph.soleReader(of: bn.inputs[0]) == index,
              conv.node.outputs.count == 1, conv.node.inputs.count >= 2,
              let w = graph.constant(conv.node.inputs[1]), let weights = w.floats, w.shape.count >= 3 else { return nil }
        let m = w.shape[0]
        var params: [[Float]] = []
        for slot in bn.inputs[1...4] {
            guard let t = graph.constant(slot), let v = t.floats, v.count == m else { return nil }
            params.append(v)
        }
        var bias = [Float](repeating: 0, count: m)
        if conv.node.inputs.count > 2, conv.node.inputs[2] >= 0 {
            guard let b = graph.constant(conv.node.inputs[2])?.floats, b.count == m else { return nil }
            bias = b
        }
        let perChannel = weights.count / m
        var folded = weights
        var foldedBias = bias
        for o in 0..<m {
            let s = params[0][o] / sqrtf(params[3][o] + kernel.epsilon)
            for i in 0..<perChannel { folded[o * perChannel + i] *= s }
            foldedBias[o] = (bias[o] - params[2][o]) * s + params[1][o]
        }
        return Rewrite(conv: conv.index, weights: Tensor(shape: w.shape, scalars: folded), bias: Tensor(shape: [m], scalars: foldedBias))
    }
}
