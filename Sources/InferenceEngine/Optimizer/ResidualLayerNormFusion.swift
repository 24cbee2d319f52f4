/// Fuses the residual connection into the normalization after it:
/// `LayerNormalization(a + b)` → one ``AddLayerNormKernel`` pass per row. When the sum is
/// also read elsewhere (pre-norm transformers keep the residual stream), the fused node
/// writes it as a second output.
struct ResidualLayerNormFusion: OptimizationPass {
    let name = "residual-layernorm-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            let ln = graph.nodes[index]
            guard ln.opType == "LayerNormalization", case .kernel(let k as LayerNormKernel) = ln.operation,
                  ln.inputs.count >= 2, ln.outputs.count >= 1, graph.onlyFirstOutputUsed(index),
                  let rank = graph.shape(ln.inputs[0])?.rank, k.axis == rank - 1,
                  let width = graph.shape(ln.inputs[0])?.dims.last?.fixedValue,
                  graph.constant(ln.inputs[1])?.elementCount == width,
                  ln.inputs.count < 3 || ln.inputs[2] < 0 || graph.constant(ln.inputs[2])?.elementCount == width,
                  let add = graph.producer(of: ln.inputs[0]), let (a, b) = graph.binaryOperands(add.index, .add),
                  graph.type(a) == .float32, graph.type(b) == .float32 else { return false }
            let sum = ln.inputs[0]
            let emitsSum = graph.soleReader(of: sum) != index
            var inputs = [a, b, ln.inputs[1]]
            if ln.inputs.count > 2, ln.inputs[2] >= 0 { inputs.append(ln.inputs[2]) }
            let kernel = AddLayerNormKernel(width: width, epsilon: k.epsilon, emitsSum: emitsSum)
            let fused = graph.node(named: graph.fusedName([add.index, index]), opType: "AddLayerNormalization",
                                   operation: .kernel(kernel), inputs: inputs, outputs: emitsSum ? [ln.outputs[0], sum] : [ln.outputs[0]])
            graph.replace([add.index, index], with: fused)
            return true
        }
    }
}
