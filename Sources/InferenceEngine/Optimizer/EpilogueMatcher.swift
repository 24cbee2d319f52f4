/// Recognises what a GEMM or Conv epilogue can absorb after a value.
enum EpilogueMatcher {
    /// What follows a GEMM or Conv output and can ride in its epilogue.
    struct Chain {
        var activation = EpilogueActivation.none
        /// The residual tensor's slot, if a residual Add was absorbed.
        var residual: Int?
        /// `act(y + r)` (ResNet) rather than `act(y) + r` (transformer sublayers).
        var residualBeforeActivation = false
        /// The absorbed nodes.
        var nodes: Set<Int> = []
        /// The value the fused node now produces.
        var output: Int
    }

    /// The activation and residual Add after `slot`, in either order, or nil if neither follows.
    static func chain(after slot: Int, _ graph: OptimizerGraph) -> Chain? {
        var chain = Chain(output: slot)
        if let (reader, activation) = activation(after: chain.output, graph) {
            chain.activation = activation
            chain.nodes.insert(reader)
            chain.output = graph.nodes[reader].outputs[0]
        }
        if let (reader, residual) = residual(after: chain.output, graph) {
            chain.residual = residual
            chain.nodes.insert(reader)
            chain.output = graph.nodes[reader].outputs[0]
            // A residual before any activation may still be followed by one (ResNet).
            if chain.activation == .none, let (act, activation) = activation(after: chain.output, graph) {
                chain.activation = activation
                chain.residualBeforeActivation = true
                chain.nodes.insert(act)
                chain.output = graph.nodes[act].outputs[0]
            }
        }
        return chain.nodes.isEmpty ? nil : chain
    }

    /// The sole reader of `slot` if it is an activation the epilogue implements.
    static func activation(after slot: Int, _ graph: OptimizerGraph) -> (index: Int, activation: EpilogueActivation)? {
        guard let reader = graph.soleReader(of: slot), graph.nodes[reader].inputs.first == slot,
              graph.nodes[reader].outputs.count == 1 else { return nil }
        let node = graph.nodes[reader]
        switch node.operation {
        case .unary(.relu): return (reader, .relu)
        case .unary(.sigmoid): return (reader, .sigmoid)
        case .unary(.tanh): return (reader, .tanh)
        case .kernel(let k as UnaryKernel):
            switch k.op {
            case .gelu: return (reader, .gelu(approximateTanh: k.approximateTanh))
            case .leakyRelu: return (reader, .leakyRelu(alpha: k.alpha))
            default: return nil
            }
        case .kernel(is ClipKernel) where graph.type(slot) == .float32:
            guard let (lo, hi) = graph.constantClipBounds(reader) else { return nil }
            return (reader, .clip(min: lo, max: hi))
        default:
            return nil
        }
    }

    /// The sole reader of `slot` if it adds a tensor that provably has `slot`'s shape (the
    /// same fixed sizes or the same named input dimensions, nothing unknown): the residual.
    static func residual(after slot: Int, _ graph: OptimizerGraph) -> (index: Int, residual: Int)? {
        guard let add = graph.soleBinaryReader(of: slot, .add), add.other != slot,
              let shape = graph.shape(slot), let other = graph.shape(add.other), shape == other,
              shape.dims.allSatisfy({ if case .unknown = $0 { false } else { true } }),
              graph.type(add.other) == .float32 else { return nil }
        return (add.index, add.other)
    }
}
