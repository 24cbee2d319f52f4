/// `MatMul + Add → Gemm`: the compiler already turns a MatMul with a constant 2-D right
/// operand into a Gemm over packed weights (A's leading dimensions flattened into M); this
/// pass moves the bias `Add` that follows it into the Gemm's C, where the kernel adds it in
/// the epilogue instead of a second pass over the output.
struct GemmBiasFusion: OptimizationPass {
    let name = "matmul-add-to-gemm"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            let node = graph.nodes[index]
            guard case .gemm(var attributes) = node.operation, node.inputs.count == 2 || (node.inputs.count == 3 && node.inputs[2] < 0),
                  !attributes.residual, attributes.activation == .none, node.outputs.count == 1,
                  let outRank = graph.shape(node.outputs[0])?.rank,
                  let n = graph.shape(node.outputs[0])?.dims.last?.fixedValue,
                  let add = graph.soleBinaryReader(of: node.outputs[0], .add),
                  let bias = graph.constant(add.other), bias.elementType == .float32, let values = bias.floats,
                  values.count == n, bias.shape.last == n, bias.shape.count <= outRank,
                  bias.shape.dropLast().allSatisfy({ $0 == 1 }) else { return false }
            attributes.beta = 1
            let inputs = [node.inputs[0], node.inputs[1], graph.addConstant(Tensor(shape: [n], scalars: values))]
            let fused = graph.node(named: graph.fusedName([index, add.index]), opType: "Gemm", operation: .gemm(attributes),
                                   inputs: inputs, outputs: graph.nodes[add.index].outputs)
            graph.replace([index, add.index], with: fused)
            return true
        }
    }
}
