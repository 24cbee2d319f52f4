/// Evaluates, once at load, every node whose inputs are all constants, and replaces it with
/// its results. The compiler already folds what the file contains; this pass catches the
/// constants other passes create (folded BatchNormalization weights, pre-scaled tensors).
struct ConstantFolding: OptimizationPass {
    let name = "constant-folding"
    /// Results larger than this stay computed per request: a model could otherwise make load
    /// time materialise, say, a 1 GiB ConstantOfShape.
    static let maxFoldedElements = 1 << 22

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        try graph.rewriteRepeatedly { index, graph throws(ModelLoadError) in
            let node = graph.nodes[index]
            let present = node.inputs.filter { $0 >= 0 }
            guard !present.isEmpty, present.allSatisfy({ graph.constant($0) != nil }) else { return false }
            // Known to be too large from the shapes inferred at load: do not compute it at all
            // (the scan comes back to this node after every rewrite).
            let tooLarge = node.outputs.contains { slot in
                guard let dims = graph.shape(slot)?.dims, dims.allSatisfy({ $0.fixedValue != nil }) else { return false }
                return (ShapeMath.elementCount(dims.map { $0.fixedValue! }) ?? Int.max) > Self.maxFoldedElements
            }
            guard !tooLarge else { return false }
            let results: [Tensor]
            do {
                results = try NodeExecutor(node: node).run(node.inputs.map { graph.constant($0) })
            } catch {
                throw ModelLoadError("\(node.opType) (node '\(node.name)'): \(error) (evaluating constant inputs at load)")
            }
            guard results.count >= node.outputs.count,
                  results.allSatisfy({ $0.elementCount <= Self.maxFoldedElements }) else { return false }
            for (slot, tensor) in zip(node.outputs, results) where slot >= 0 {
                graph.constants[slot] = tensor
                graph.valueShapes[slot] = InferredShape(fixed: tensor.shape)
            }
            graph.remove([index])
            return true
        }
    }
}
