/// Small matchers the pattern passes share.
extension OptimizerGraph {
    /// Operands of the float binary node at `index` if it is `op`.
    func binaryOperands(_ index: Int, _ op: BinaryOperator) -> (a: Int, b: Int)? {
        let node = nodes[index]
        guard case .binary(let actual) = node.operation, actual == op, node.inputs.count == 2 else { return nil }
        return (node.inputs[0], node.inputs[1])
    }

    /// For a commutative binary node reading `slot`: its other operand.
    func otherOperand(_ index: Int, _ op: BinaryOperator, besides slot: Int) -> Int? {
        guard let (a, b) = binaryOperands(index, op) else { return nil }
        if a == slot { return b }
        if b == slot { return a }
        return nil
    }

    /// True if `slot` is a one-element float constant within `relativeTolerance` of `value`.
    func isScalar(_ slot: Int, _ value: Float, relativeTolerance: Float = 1e-4) -> Bool {
        guard let v = scalarConstant(slot) else { return false }
        return abs(v - value) <= relativeTolerance * max(abs(value), 1e-30)
    }

    /// The unary operator of the node at `index` (core Relu/Sigmoid/Tanh or one of the
    /// extended float unary kernels), by ONNX name.
    func unaryOpType(_ index: Int) -> String? {
        let node = nodes[index]
        switch node.operation {
        case .unary(let op): return op.rawValue
        case .kernel(let k as UnaryKernel): return k.op.rawValue
        default: return nil
        }
    }

    /// The single-reader node reading `slot`, with its index, if it is a float binary `op`
    /// whose other operand is returned as well.
    func soleBinaryReader(of slot: Int, _ op: BinaryOperator) -> (index: Int, other: Int)? {
        guard let r = soleReader(of: slot), let other = otherOperand(r, op, besides: slot) else { return nil }
        return (r, other)
    }

    /// True when nothing reads the node's outputs after the first (LayerNormalization's mean
    /// and inverse deviation, BatchNormalization's running statistics): a fusion that keeps
    /// only the first output may then drop them.
    func onlyFirstOutputUsed(_ index: Int) -> Bool {
        nodes[index].outputs.dropFirst().allSatisfy { $0 < 0 || (readers(of: $0).isEmpty && !isGraphOutput($0)) }
    }

    /// The bounds of the Clip node at `index` when they are constant (an omitted bound is
    /// unbounded), else nil.
    func constantClipBounds(_ index: Int) -> (min: Float, max: Float)? {
        let inputs = nodes[index].inputs
        let lo = inputs.count > 1 && inputs[1] >= 0 ? scalarConstant(inputs[1]) : -Float.infinity
        let hi = inputs.count > 2 && inputs[2] >= 0 ? scalarConstant(inputs[2]) : Float.infinity
        guard let lo, let hi else { return nil }
        return (lo, hi)
    }

    /// True when `slot` is a constant or is computed from input shapes and constants alone
    /// (through Shape, Size and nodes reading only such values): the same in every run with
    /// the same input shapes, so a plan may treat it as a constant.
    func isShapeDerived(_ slot: Int) -> Bool {
        var known: [Int: Bool] = [:]
        func derived(_ slot: Int) -> Bool {
            if slot < 0 || constant(slot) != nil { return true }
            if let answer = known[slot] { return answer }
            guard let p = producer(of: slot) else { return false }   // a graph input
            let answer = p.node.opType == "Shape" || p.node.opType == "Size" || p.node.inputs.allSatisfy(derived)
            known[slot] = answer
            return answer
        }
        return derived(slot)
    }

    /// A new node that reads `inputs` and writes `outputs`, with its
    /// load-time output shapes taken from the graph.
    func node(named name: String, opType: String, operation: Operation, inputs: [Int], outputs: [Int]) -> CompiledNode {
        var n = CompiledNode(name: name, opType: opType, operation: operation, inputs: inputs, outputs: outputs)
        n.inferred = outputs.map { $0 >= 0 ? shape($0) : nil }
        return n
    }
}
