/// Replaces scaled dot-product attention, `MatMul(softmax(scale · Q·Kᵀ + mask), V)`, with one
/// ``AttentionKernel`` node. Matched forms:
/// - the scale as constant scalar multipliers of Q and/or Kᵀ (PyTorch's legacy exporter
///   multiplies both by `d^-1/4`), or as a Mul/Div of the scores;
/// - an optional additive mask (Add of the scores and any tensor);
/// - Kᵀ either as the operand itself or as a Transpose swapping the last two axes of K, which
///   is then absorbed (the kernel reads K row by row).
/// Softmax must be over the last axis; intermediate values must have no other readers.
///
/// Around that core it absorbs the data movement of multi-head attention (``ViewChain``): the
/// Reshape/Transpose/Squeeze/Unsqueeze/Gather chains that split a packed QKV projection into
/// heads, the Expand and Reshapes of the mask, per-shape scale factors of Q and K (PyTorch's
/// `Mul` by `sqrt(1/sqrt(d))` computed from `Shape`), and the Transpose/Reshape that merges the
/// heads of the result. The kernel then reads the projection and writes the merged result in
/// place through strides, and none of those copies is made.
struct AttentionFusion: OptimizationPass {
    let name = "attention-fusion"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            guard let m = match(index, graph) else { return false }
            let core = m.nodes
            let absorbed = absorbViews(m, graph) ?? Absorbed(match: m)
            var inputs = [absorbed.roots[0], absorbed.roots[1], absorbed.roots[2]]
            if m.mask != nil { inputs.append(absorbed.roots[3]) }
            // The chains' shape operands and the scale factors follow the operands.
            var operandIndex: [Int: Int] = [:]
            func operand(_ slot: Int) -> Int {
                if let i = operandIndex[slot] { return i }
                inputs.append(slot)
                operandIndex[slot] = inputs.count - 1
                return inputs.count - 1
            }
            func chain(_ steps: [SlotStep]) -> ViewChain {
                ViewChain(steps: steps.map { step in
                    switch step {
                    case .transpose(let perm): .transpose(perm)
                    case .reshape(let kernel, let slot): .reshape(kernel, operand: slot.map(operand))
                    case .select(let axis, let index): .select(axis: axis, index: index)
                    case .expand(let slot): .expand(operand: operand(slot))
                    }
                })
            }
            var views = AttentionKernel.Views()
            views.q = chain(absorbed.chains[0])
            views.k = chain(absorbed.chains[1])
            views.v = chain(absorbed.chains[2])
            if m.mask != nil { views.mask = chain(absorbed.chains[3]) }
            views.output = chain(absorbed.outputChain)
            views.scaleOperands = absorbed.scaleSlots.map(operand)
            let kernel = AttentionKernel(scale: m.scale * absorbed.scaleFactor, keysTransposed: m.keysTransposed,
                                         hasMask: m.mask != nil, views: views)
            let viewCount = absorbed.nodes.count - core.count
            let name = graph.fusedName(Array(core)) + (viewCount > 0 ? " +\(viewCount) view nodes" : "")
            let node = graph.node(named: name, opType: "Attention", operation: .kernel(kernel),
                                  inputs: inputs, outputs: [absorbed.output])
            graph.replace(absorbed.nodes, with: node)
            return true
        }
    }

    /// A ``ViewChain/Step`` whose shape operand is still a graph slot.
    enum SlotStep {
        case transpose([Int])
        case reshape(ReshapeKernel, Int?)
        case select(Int, Int64)
        case expand(Int)
    }

    /// The core match grown by the view chains around it.
    struct Absorbed {
        /// Where Q, K (or Kᵀ), V and the mask start.
        var roots: [Int]
        /// Their chains, in execution order.
        var chains: [[SlotStep]]
        var output: Int
        var outputChain: [SlotStep] = []
        var scaleFactor: Float = 1
        var scaleSlots: [Int] = []
        var nodes: Set<Int>

        init(match m: Match) {
            roots = [m.q, m.k, m.v, m.mask ?? -1]
            chains = [[], [], [], []]
            output = m.output
            nodes = m.nodes
        }
    }

    /// Grows the match by the view chains upstream of Q, K, V and the mask and downstream of
    /// the output; nil when nothing is absorbed or the chains would not close (a value some
    /// absorbed node produces still read from outside).
    private func absorbViews(_ m: Match, _ graph: OptimizerGraph) -> Absorbed? {
        var a = Absorbed(match: m)
        let operands = m.mask == nil ? 3 : 4
        // Round robin: a node shared by several chains (the packed QKV's split) is absorbed
        // once every reader of its output is.
        var grown = true
        while grown {
            grown = false
            for i in 0..<operands {
                guard let (step, next, node) = viewStep(above: a.roots[i], scalesAllowed: i < 2, a, graph) else { continue }
                switch step {
                case .some(let s): a.chains[i].insert(s, at: 0)
                case .none: break
                }
                if let scale = scaleOf(node, graph, next) {
                    a.scaleFactor *= scale.factor
                    if let slot = scale.slot { a.scaleSlots.append(slot) }
                }
                a.roots[i] = next
                a.nodes.insert(node)
                grown = true
            }
        }
        // Downstream: the head merge of the result.
        while !graph.isGraphOutput(a.output), let r = graph.soleReader(of: a.output), let step = invertibleStep(r, reading: a.output, graph) {
            a.outputChain.append(step)
            a.nodes.insert(r)
            a.output = graph.nodes[r].outputs[0]
        }
        guard a.nodes.count > m.nodes.count else { return nil }
        // View nodes whose result a Shape also reads stay in the graph for it (with what they
        // read); plans skip them, since only shape-only nodes read them.
        var kept = Set<Int>()
        var work = Array(a.nodes).filter { n in
            !m.nodes.contains(n) && graph.nodes[n].outputs.contains { $0 >= 0 && $0 != a.output && !graph.isInternal($0, to: a.nodes) }
        }
        while let n = work.popLast() {
            guard kept.insert(n).inserted else { continue }
            for input in graph.nodes[n].inputs {
                if let p = graph.producer(of: input), a.nodes.contains(p.index) { work.append(p.index) }
            }
        }
        a.nodes.subtract(kept)
        // Every value a removed node produces must be read only inside the group (or by the
        // nodes kept).
        for n in a.nodes {
            for out in graph.nodes[n].outputs where out >= 0 && out != a.output && !graph.isInternal(out, to: a.nodes.union(kept)) { return nil }
        }
        let extra = a.chains.flatMap { $0 }.compactMap { step -> Int? in
            switch step {
            case .reshape(_, let slot): slot
            case .expand(let slot): slot
            default: nil
            }
        } + a.scaleSlots
        for slot in a.roots.prefix(operands) + extra {
            if let p = graph.producer(of: slot), a.nodes.contains(p.index) { return nil }
        }
        return a
    }

    /// For a Mul/Div step of a Q or K chain whose data operand is `data`: its constant factor,
    /// or the slot of its per-shape scalar (read when the layout is made); nil for other nodes.
    private func scaleOf(_ index: Int, _ graph: OptimizerGraph, _ data: Int) -> (factor: Float, slot: Int?)? {
        if let (a, b) = graph.binaryOperands(index, .mul) {
            let other = a == data ? b : a
            if let s = graph.scalarConstant(other) { return (s, nil) }
            return (1, other)
        }
        if let (_, b) = graph.binaryOperands(index, .div), let s = graph.scalarConstant(b) { return (1 / s, nil) }
        return nil
    }

    /// The node producing `slot` as a step of a chain ending in the fused group: its step (nil
    /// for an Identity or a scaling), the slot the chain continues from, and the node's index.
    private func viewStep(above slot: Int, scalesAllowed: Bool, _ a: Absorbed, _ graph: OptimizerGraph) -> (SlotStep?, Int, Int)? {
        guard let p = graph.producer(of: slot), !graph.isGraphOutput(slot), graph.type(slot) == .float32,
              graph.readers(of: slot).allSatisfy({ a.nodes.contains($0) || isShapeReader(graph.nodes[$0]) }) else { return nil }
        let node = p.node
        guard let input = node.inputs.first, input >= 0 else { return nil }
        if a.nodes.contains(p.index) && !isViewNode(node, graph) { return nil }
        if let step = reshapeOrTranspose(node, graph) { return (step, input, p.index) }
        switch node.operation {
        case .identity:
            return (nil, input, p.index)
        case .kernel(let k as GatherKernel):
            guard k.axis >= 0, node.inputs.count == 2, let index = graph.constant(node.inputs[1]), index.shape.isEmpty,
                  index.elementType == .int64 || index.elementType == .int32 else { return nil }
            return (.select(k.axis, index.storage.int64Values[0]), input, p.index)
        case .kernel(is ExpandKernel):
            guard node.inputs.count == 2, graph.isShapeDerived(node.inputs[1]) else { return nil }
            return (.expand(node.inputs[1]), input, p.index)
        case .binary(.mul) where scalesAllowed:
            let (x, y) = (node.inputs[0], node.inputs[1])
            for (data, factor) in [(x, y), (y, x)] where isScalarFactor(factor, graph) && graph.type(data) == .float32 && !isScalarFactor(data, graph) {
                return (nil, data, p.index)
            }
            return nil
        case .binary(.div) where scalesAllowed:
            guard let s = graph.scalarConstant(node.inputs[1]), s != 0 else { return nil }
            return (nil, input, p.index)
        default:
            return nil
        }
    }

    /// A node that reads only its input's shape (the value may be absorbed as a view and
    /// still be computed for it).
    private func isShapeReader(_ node: CompiledNode) -> Bool { node.opType == "Shape" || node.opType == "Size" }

    /// Whether a node absorbed through one chain can be passed through by another (the
    /// shared part of the packed QKV's split): only pure data movement can.
    private func isViewNode(_ node: CompiledNode, _ graph: OptimizerGraph) -> Bool {
        switch node.operation {
        case .identity, .reshape, .flatten: true
        case .kernel(let k): k is TransposeKernel || k is ReshapeKernel || k is GatherKernel || k is ExpandKernel
        default: false
        }
    }

    /// A one-element float that is the same in every run with the same input shapes.
    private func isScalarFactor(_ slot: Int, _ graph: OptimizerGraph) -> Bool {
        guard graph.type(slot) == .float32, let shape = graph.shape(slot) else { return false }
        let one = shape.dims.allSatisfy { $0.fixedValue == 1 }
        return one && graph.isShapeDerived(slot)
    }

    /// The node at `index`, reading `slot` as its data, as a step the output can be written
    /// through (data movement that can be undone: no Gather, no Expand).
    private func invertibleStep(_ index: Int, reading slot: Int, _ graph: OptimizerGraph) -> SlotStep? {
        let node = graph.nodes[index]
        guard node.inputs.first == slot, node.outputs.count == 1, node.outputs[0] >= 0 else { return nil }
        return reshapeOrTranspose(node, graph)
    }

    /// A Reshape-like node (its target or axes computed from shapes only) or a Transpose as a
    /// step; nil for anything else.
    private func reshapeOrTranspose(_ node: CompiledNode, _ graph: OptimizerGraph) -> SlotStep? {
        switch node.operation {
        case .reshape(let shape, let allowZero): return .reshape(ReshapeKernel(mode: .reshape(shape, allowZero: allowZero)), nil)
        case .flatten(let axis): return .reshape(ReshapeKernel(mode: .flatten(axis)), nil)
        case .kernel(let k as TransposeKernel): return .transpose(k.perm)
        case .kernel(let k as ReshapeKernel):
            let operand = node.inputs.count > 1 && node.inputs[1] >= 0 ? node.inputs[1] : nil
            if let operand, !graph.isShapeDerived(operand) { return nil }
            return .reshape(k, operand)
        default: return nil
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
