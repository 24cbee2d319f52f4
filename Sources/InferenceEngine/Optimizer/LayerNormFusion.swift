/// Replaces a layer normalization written out of primitives (as TensorFlow and older
/// exporters emit it) with one LayerNormalization node:
/// `mean = ReduceMean(x)`, `d = x − mean`, `var = ReduceMean(d²)` (`d²` as Pow(d, 2) or d·d),
/// `y = d / Sqrt(var + ε)`, then optionally `· gamma` and `+ beta`; both reductions over the
/// last axis with keepdims.
struct LayerNormFusion: OptimizationPass {
    let name = "layernorm-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            guard let match = match(index, graph) else { return false }
            var inputs = [match.x]
            let width = match.width
            // Parameters as plain [width] vectors, whatever broadcastable shape they had.
            let gamma = match.gamma.flatMap { graph.constant($0)?.floats } ?? [Float](repeating: 1, count: width)
            inputs.append(graph.addConstant(Tensor(shape: [width], scalars: gamma)))
            if let beta = match.beta.flatMap({ graph.constant($0)?.floats }) {
                inputs.append(graph.addConstant(Tensor(shape: [width], scalars: beta)))
            }
            let kernel = LayerNormKernel(axis: match.axis, epsilon: match.epsilon)
            let node = graph.node(named: graph.fusedName(Array(match.nodes)), opType: "LayerNormalization",
                                  operation: .kernel(kernel), inputs: inputs, outputs: [match.output, -1, -1])
            graph.replace(match.nodes, with: node)
            return true
        }
    }

    struct Match {
        var x: Int, output: Int, nodes: Set<Int>
        var axis: Int, width: Int, epsilon: Float
        var gamma: Int?, beta: Int?
    }

    /// Whether the node at `index` is a keepdims ReduceMean over the last axis of `slot`.
    private func isLastAxisMean(_ index: Int, of slot: Int, _ graph: OptimizerGraph) -> Bool {
        let node = graph.nodes[index]
        guard case .kernel(let k as ReduceKernel) = node.operation, k.op == .mean, k.keepDims,
              node.inputs.first == slot, let rank = graph.shape(slot)?.rank, rank >= 1 else { return false }
        if let axes = k.axes { return axes == [rank - 1] }
        guard node.inputs.count > 1, let given = graph.constant(node.inputs[1])?.storage.int64Values, given.count == 1 else { return false }
        return given[0] == -1 || given[0] == Int64(rank - 1)
    }

    private func match(_ index: Int, _ graph: OptimizerGraph) -> Match? {
        // Anchor on the first ReduceMean: mean = ReduceMean(x).
        guard let x = graph.nodes[index].inputs.first, graph.type(x) == .float32, isLastAxisMean(index, of: x, graph),
              let rank = graph.shape(x)?.rank, let width = graph.shape(x)?.dims.last?.fixedValue else { return nil }
        let mean = graph.nodes[index].outputs[0]
        guard let sub = graph.soleReader(of: mean), let (a, b) = graph.binaryOperands(sub, .sub), a == x, b == mean else { return nil }
        let d = graph.nodes[sub].outputs[0]
        // d has exactly two readers: the squaring and the final division.
        let dReaders = graph.readers(of: d)
        guard !graph.isGraphOutput(d), dReaders.count == 2 else { return nil }
        var square = -1, divide = -1
        for r in dReaders {
            if let (p, q) = graph.binaryOperands(r, .mul), p == d, q == d { square = r }
            else if case .kernel(let k as BinaryKernel) = graph.nodes[r].operation, k.op == .pow,
                    graph.nodes[r].inputs.first == d, graph.isScalar(graph.nodes[r].inputs[1], 2) { square = r }
            else if let (p, _) = graph.binaryOperands(r, .div), p == d { divide = r }
        }
        guard square >= 0, divide >= 0 else { return nil }
        let squared = graph.nodes[square].outputs[0]
        guard let varianceNode = graph.soleReader(of: squared), isLastAxisMean(varianceNode, of: squared, graph) else { return nil }
        let variance = graph.nodes[varianceNode].outputs[0]
        guard let plusEps = graph.soleBinaryReader(of: variance, .add), let epsilon = graph.scalarConstant(plusEps.other) else { return nil }
        let shifted = graph.nodes[plusEps.index].outputs[0]
        guard let sqrt = graph.soleReader(of: shifted), graph.unaryOpType(sqrt) == "Sqrt" else { return nil }
        let std = graph.nodes[sqrt].outputs[0]
        guard graph.soleReader(of: std) == divide, graph.nodes[divide].inputs[1] == std else { return nil }
        var nodes: Set<Int> = [index, sub, square, varianceNode, plusEps.index, sqrt, divide]
        var output = graph.nodes[divide].outputs[0]
        var gamma: Int?, beta: Int?
        // Optional affine part with constant per-feature parameters.
        func perFeature(_ slot: Int) -> Bool {
            guard let t = graph.constant(slot), t.elementType == .float32 else { return false }
            return t.elementCount == width && t.shape.last == width && t.shape.dropLast().allSatisfy { $0 == 1 } && t.shape.count <= rank
        }
        if let scale = graph.soleBinaryReader(of: output, .mul), perFeature(scale.other) {
            gamma = scale.other
            nodes.insert(scale.index)
            output = graph.nodes[scale.index].outputs[0]
        }
        if let shift = graph.soleBinaryReader(of: output, .add), perFeature(shift.other) {
            beta = shift.other
            nodes.insert(shift.index)
            output = graph.nodes[shift.index].outputs[0]
        }
        return Match(x: x, output: output, nodes: nodes, axis: rank - 1, width: width, epsilon: epsilon,
                     gamma: gamma, beta: beta)
    }
}
