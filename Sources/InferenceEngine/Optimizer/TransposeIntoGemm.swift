/// Folds a 2-D Transpose feeding a Gemm operand into the Gemm's `transA`/`transB` flags, so
/// the kernel reads the operand in place (packing handles either orientation) instead of a
/// Transpose node writing a copy first.
struct TransposeIntoGemm: OptimizationPass {
    let name = "transpose-into-gemm"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            guard case .gemm(var attributes) = graph.nodes[index].operation else { return false }
            var node = graph.nodes[index]
            var group: Set<Int> = [index]
            if !attributes.flattenA, let t = swapTranspose(node.inputs[0], reader: index, graph) {
                attributes.transA.toggle()
                node.inputs[0] = graph.nodes[t].inputs[0]
                group.insert(t)
            }
            if attributes.packedB == nil, node.inputs.count > 1, let t = swapTranspose(node.inputs[1], reader: index, graph) {
                attributes.transB.toggle()
                node.inputs[1] = graph.nodes[t].inputs[0]
                group.insert(t)
            }
            guard group.count > 1 else { return false }
            node.operation = .gemm(attributes)
            node.name = graph.fusedName(Array(group))
            graph.replace(group, with: node)
            return true
        }
    }

    /// The Transpose node producing `slot` if it swaps the two axes of a 2-D float value and
    /// `reader` is its only reader.
    private func swapTranspose(_ slot: Int, reader: Int, _ graph: OptimizerGraph) -> Int? {
        guard let p = graph.producer(of: slot), graph.soleReader(of: slot) == reader,
              case .kernel(let k as TransposeKernel) = p.node.operation, k.perm == [1, 0],
              graph.type(slot) == .float32 else { return nil }
        return p.index
    }
}
