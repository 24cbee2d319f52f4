/// Replaces scaled dot-product attention, `MatMul(softmax(scale · Q·Kᵀ + mask), V)`, with one
/// ``AttentionKernel`` node. Matched forms:
/// - the scale as constant scalar multipliers of Q and/or Kᵀ (PyTorch's legacy exporter
///   multiplies both by `d^-1/4`), or as a Mul/Div of the scores;
/// - an optional additive mask (Add of the scores and any tensor);
/// - Kᵀ either as the operand itself or as a Transpose swapping the last two axes of K, which
///   is then absorbed (the kernel reads K row by row).
/// Softmax must be over the last axis; intermediate values must have no other readers.
struct AttentionFusion: OptimizationPass {
    let name = "attention-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            guard let m = match(index, graph) else { return false }
            var inputs = [m.q, m.k, m.v]
            if let mask = m.mask { inputs.append(mask) }
            let kernel = AttentionKernel(scale: m.scale, keysTransposed: m.keysTransposed, hasMask: m.mask != nil)
            let node = graph.node(named: graph.fusedName(Array(m.nodes)), opType: "Attention", operation: .kernel(kernel),
                                  inputs: inputs, outputs: [m.output])
            graph.replace(m.nodes, with: node)
            return true
        }
    }

    struct Match {
        var q: Int, k: Int, v: Int, mask: Int?
        var scale: Float, keysTransposed: Bool
        var output: Int, nodes: Set<Int>
    }

    /// A value `slot` read only by `reader`, optionally multiplied by a constant scalar
    /// (absorbed into `scale`): the unscaled operand and the absorbed node.
    private func unscaled(_ slot: Int, reader: Int, _ graph: OptimizerGraph) -> (slot: Int, factor: Float, node: Int?) {
        guard let p = graph.producer(of: slot), graph.soleReader(of: slot) == reader,
              let (a, b) = graph.binaryOperands(p.index, .mul) else { return (slot, 1, nil) }
        if let s = graph.scalarConstant(b) { return (a, s, p.index) }
        if let s = graph.scalarConstant(a) { return (b, s, p.index) }
        return (slot, 1, nil)
    }

    private func match(_ index: Int, _ graph: OptimizerGraph) -> Match? {
        // Anchor: out = MatMul(P, V) with P = Softmax(last axis) read only here.
        let out = graph.nodes[index]
        guard case .matMul = out.operation, out.inputs.count == 2,
              let probabilities = graph.producer(of: out.inputs[0]), graph.soleReader(of: out.inputs[0]) == index,
              case .softmax(let axis, _) = probabilities.node.operation,
              let rank = graph.shape(out.inputs[0])?.rank, rank >= 2, axis == rank - 1,
              graph.shape(out.inputs[1]).map({ $0.rank >= 2 }) == true else { return nil }
        var nodes: Set<Int> = [index, probabilities.index]
        var scale: Float = 1
        var logits = probabilities.node.inputs[0]
        guard graph.soleReader(of: logits) == probabilities.index else { return nil }
        var reader = probabilities.index

        // Optional additive mask: the scores side is the operand a MatMul (maybe scaled) produced.
        var mask: Int?
        if let add = graph.producer(of: logits), let (a, b) = graph.binaryOperands(add.index, .add) {
            let scoreSide = [a, b].first { isScores($0, graph) }
            guard let scores = scoreSide, graph.soleReader(of: scores) == add.index else { return nil }
            mask = scores == a ? b : a
            guard graph.type(mask!) == .float32 else { return nil }
            nodes.insert(add.index)
            reader = add.index
            logits = scores
        }
        // Optional scaling of the scores.
        if let p = graph.producer(of: logits), graph.soleReader(of: logits) == reader {
            if let (a, b) = graph.binaryOperands(p.index, .mul) {
                if let s = graph.scalarConstant(b), isRawScores(a, graph) { scale *= s; nodes.insert(p.index); reader = p.index; logits = a }
                else if let s = graph.scalarConstant(a), isRawScores(b, graph) { scale *= s; nodes.insert(p.index); reader = p.index; logits = b }
            } else if let (a, b) = graph.binaryOperands(p.index, .div), let s = graph.scalarConstant(b), s != 0, isRawScores(a, graph) {
                scale /= s; nodes.insert(p.index); reader = p.index; logits = a
            }
        }
        guard let scoresNode = graph.producer(of: logits), case .matMul = scoresNode.node.operation,
              graph.soleReader(of: logits) == reader else { return nil }
        nodes.insert(scoresNode.index)
        let q = unscaled(scoresNode.node.inputs[0], reader: scoresNode.index, graph)
        let kt = unscaled(scoresNode.node.inputs[1], reader: scoresNode.index, graph)
        scale *= q.factor * kt.factor
        if let n = q.node { nodes.insert(n) }
        if let n = kt.node { nodes.insert(n) }
        guard graph.shape(q.slot).map({ $0.rank >= 2 }) == true, graph.shape(kt.slot).map({ $0.rank >= 2 }) == true,
              graph.type(q.slot) == .float32, graph.type(kt.slot) == .float32 else { return nil }

        // Kᵀ = Transpose(K) over the last two axes: read K directly.
        var k = kt.slot, keysTransposed = true
        let transposeReader = kt.node ?? scoresNode.index
        if let t = graph.producer(of: kt.slot), graph.soleReader(of: kt.slot) == transposeReader,
           case .kernel(let tk as TransposeKernel) = t.node.operation, tk.perm.count >= 2 {
            let r = tk.perm.count
            if tk.perm == Array(0..<(r - 2)) + [r - 1, r - 2] {
                k = t.node.inputs[0]
                keysTransposed = false
                nodes.insert(t.index)
            }
        }
        return Match(q: q.slot, k: k, v: out.inputs[1], mask: mask, scale: scale, keysTransposed: keysTransposed,
                     output: out.outputs[0], nodes: nodes)
    }

    /// `slot` comes from the scores MatMul, possibly through a constant scaling.
    private func isScores(_ slot: Int, _ graph: OptimizerGraph) -> Bool {
        if isRawScores(slot, graph) { return true }
        guard let p = graph.producer(of: slot) else { return false }
        if let (a, b) = graph.binaryOperands(p.index, .mul) {
            return (graph.scalarConstant(b) != nil && isRawScores(a, graph)) || (graph.scalarConstant(a) != nil && isRawScores(b, graph))
        }
        if let (a, b) = graph.binaryOperands(p.index, .div) { return graph.scalarConstant(b) != nil && isRawScores(a, graph) }
        return false
    }

    private func isRawScores(_ slot: Int, _ graph: OptimizerGraph) -> Bool {
        guard let p = graph.producer(of: slot), case .matMul = p.node.operation else { return false }
        return true
    }
}
