extension NodeExecutor {
    /// The node's kernel bound to one plan's shapes (see ``NodeKernel/bind(_:_:_:)``), or nil
    /// when it has no planned form for them.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?]) throws(InferenceError) -> KernelBinding? {
        switch node.operation {
        case .kernel(let kernel):
            return try kernel.bind(inputs, outputs, self)
        case .identity, .flatten, .reshape:
            return .alias
        case .unary(let op):
            guard let x = inputs[0], x.elementType == .float32 else { return nil }
            return .compute(BoundUnaryKernel(op: op, count: x.elementCount))
        case .binary(let op):
            guard let a = inputs[0], let b = inputs[1], let y = outputs.first ?? nil,
                  a.elementType == .float32, b.elementType == .float32 else { return nil }
            return .compute(BoundBinaryKernel(op: op, pattern: BroadcastPattern(a.shape, b.shape, outShape: y.shape)))
        case .softmax(let axis, let coerce):
            return BoundAxisKernel.binding(inputs[0], axis: axis, coerce: coerce, SoftmaxKernel.softmax)
        case .matMul:
            guard let a = inputs[0], let b = inputs[1] else { return nil }
            return BoundMatMulKernel(aShape: a.shape, bShape: b.shape).map { .compute($0) }
        case .gemm(let attributes):
            return BoundGemmKernel(attributes: attributes, inputs: inputs, outputs: outputs).map { .compute($0) }
        }
    }
}
