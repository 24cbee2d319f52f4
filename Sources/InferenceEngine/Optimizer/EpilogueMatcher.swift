/// Recognises what a GEMM or Conv epilogue can absorb after a value.
enum EpilogueMatcher {
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
            let lo = node.inputs.count > 1 && node.inputs[1] >= 0 ? graph.scalarConstant(node.inputs[1]) : -Float.infinity
            let hi = node.inputs.count > 2 && node.inputs[2] >= 0 ? graph.scalarConstant(node.inputs[2]) : Float.infinity
            guard let lo, let hi else { return nil }
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
