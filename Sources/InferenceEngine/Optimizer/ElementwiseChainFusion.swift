/// Fuses connected groups of float elementwise nodes (unary and binary, with broadcasting)
/// into one ``FusedElementwiseKernel``: one loop over memory instead of one per node, and no
/// intermediate tensors.
///
/// A node joins the group of the node reading its output when every reader of that output
/// is in the group and the output is not a graph output; scalar constants become immediates.
struct ElementwiseChainFusion: OptimizationPass {
    let name = "elementwise-chain-fusion"
    /// External (non-scalar) inputs of one fused node: beyond this the per-chunk pointer
    /// bookkeeping outweighs the saved passes.
    static let maxInputs = 8

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        var assigned = Set<Int>()
        var changed = false
        var root = graph.nodes.count - 1
        while root >= 0 {
            defer { root -= 1 }
            guard !assigned.contains(root), operation(root, graph) != nil else { continue }
            let group = grow(from: root, graph)
            assigned.formUnion(group)
            guard group.count >= 2, let (program, inputs) = compile(group, root: root, graph),
                  inputs.count <= Self.maxInputs else { continue }
            let node = graph.node(named: graph.fusedName(Array(group)), opType: "FusedElementwise",
                                  operation: .kernel(FusedElementwiseKernel(program: program)),
                                  inputs: inputs, outputs: [graph.nodes[root].outputs[0]])
            graph.replace(group, with: node)
            changed = true
            // Indices shifted; start again from the end with nothing assigned.
            assigned.removeAll()
            root = graph.nodes.count
        }
        return changed
    }

    /// What a fusable node computes, by kind, with its non-scalar/scalar operands resolved later.
    enum Kind { case unary(ElementwiseProgram.Unary), binary(ElementwiseProgram.Binary) }

    /// The elementwise meaning of the node at `index`, or nil if it is not a fusable float
    /// elementwise node. Clip needs constant bounds; Pow a float exponent.
    func operation(_ index: Int, _ graph: OptimizerGraph) -> (kind: Kind, operands: [Int])? {
        let node = graph.nodes[index]
        guard node.outputs.count == 1, node.outputs[0] >= 0, graph.type(node.outputs[0]) == .float32,
              node.inputs.allSatisfy({ $0 >= 0 && graph.type($0) == .float32 }) else { return nil }
        switch node.operation {
        case .binary(let op):
            let b: ElementwiseProgram.Binary = switch op { case .add: .add; case .sub: .sub; case .mul: .mul; case .div: .div }
            return (.binary(b), node.inputs)
        case .unary(let op):
            let u: ElementwiseProgram.Unary = switch op { case .relu: .relu; case .sigmoid: .sigmoid; case .tanh: .tanh }
            return (.unary(u), node.inputs)
        case .kernel(let k as UnaryKernel):
            let u: ElementwiseProgram.Unary
            switch k.op {
            case .sqrt: u = .sqrt
            case .erf: u = .erf
            case .exp: u = .exp
            case .log: u = .log
            case .neg: u = .neg
            case .abs: u = .abs
            case .reciprocal: u = .reciprocal
            case .leakyRelu: u = .leakyRelu(k.alpha)
            case .gelu: u = .gelu(approximateTanh: k.approximateTanh)
            default: return nil
            }
            return (.unary(u), node.inputs)
        case .kernel(let k as BinaryKernel) where node.inputs.count == 2:
            switch k.op {
            case .pow: return (.binary(.pow), node.inputs)
            case .max: return (.binary(.max), node.inputs)
            case .min: return (.binary(.min), node.inputs)
            default: return nil
            }
        case .kernel(let k as VariadicKernel) where node.inputs.count == 2 && !k.mean:
            switch k.op {
            case .max: return (.binary(.max), node.inputs)
            case .min: return (.binary(.min), node.inputs)
            case .add: return (.binary(.add), node.inputs)
            default: return nil
            }
        case .kernel(is ClipKernel):
            guard let (lo, hi) = graph.constantClipBounds(index) else { return nil }
            return (.unary(.clip(lo, hi)), [node.inputs[0]])
        default:
            return nil
        }
    }

    /// The group rooted at `root`: producers of its operands join while all their readers
    /// are already in the group (repeated until nothing more joins).
    private func grow(from root: Int, _ graph: OptimizerGraph) -> Set<Int> {
        var group: Set<Int> = [root]
        var grew = true
        while grew {
            grew = false
            for member in group {
                guard let (_, operands) = operation(member, graph) else { continue }
                for slot in operands {
                    guard let p = graph.producer(of: slot), !group.contains(p.index), operation(p.index, graph) != nil,
                          graph.isInternal(slot, to: group) else { continue }
                    group.insert(p.index)
                    grew = true
                }
            }
        }
        return group
    }

    /// The program of `group` and its external inputs, in step order.
    private func compile(_ group: Set<Int>, root: Int, _ graph: OptimizerGraph) -> (ElementwiseProgram, [Int])? {
        var steps: [ElementwiseProgram.Step] = []
        var stepOf: [Int: Int] = [:]     // slot → step computing it
        var inputs: [Int] = []
        func operand(_ slot: Int) -> Int {
            if let s = stepOf[slot] { return s }
            if let v = graph.scalarConstant(slot) {
                steps.append(.scalar(v))
            } else {
                if !inputs.contains(slot) { inputs.append(slot) }
                steps.append(.input(inputs.firstIndex(of: slot)!))
            }
            stepOf[slot] = steps.count - 1
            return steps.count - 1
        }
        for index in group.sorted() {
            guard let (kind, operands) = operation(index, graph) else { return nil }
            switch kind {
            case .unary(let op):
                let a = operand(operands[0])
                steps.append(.unary(op, a))
            case .binary(let op):
                let a = operand(operands[0]), b = operand(operands[1])
                steps.append(.binary(op, a, b))
            }
            stepOf[graph.nodes[index].outputs[0]] = steps.count - 1
        }
        // The root (highest index in the group) is the last step by construction.
        guard group.max() == root, !inputs.isEmpty else { return nil }
        // The kernel's output shape is the broadcast of its inputs; an immediate of higher
        // rank than all of them would have added leading 1s, so such a group stays unfused.
        let inputRank = inputs.compactMap { graph.shape($0)?.rank }.max() ?? 0
        guard let outputRank = graph.shape(graph.nodes[root].outputs[0])?.rank, outputRank == inputRank else { return nil }
        return (ElementwiseProgram(steps: steps), inputs)
    }
}
