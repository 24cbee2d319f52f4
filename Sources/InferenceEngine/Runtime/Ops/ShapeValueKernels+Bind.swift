extension ShapeKernel {
    /// The dimensions are known from the plan's shapes alone.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0] else { return nil }
        let dims = x.shape[Swift.min(start, x.shape.count)..<Swift.min(end, x.shape.count)].map { Int64($0) }
        return .compute(BoundConstantKernel(values: [Tensor(shape: [dims.count], int64s: dims)]))
    }
}

extension SizeKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0] else { return nil }
        return .compute(BoundConstantKernel(values: [Tensor(shape: [], int64s: [Int64(x.elementCount)])]))
    }
}

extension RangeKernel {
    /// Start, limit and delta decide the length, so they must be constant; the values follow.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        try BoundConstantKernel.binding(self, inputs, node)
    }
}

extension ConstantOfShapeKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        try BoundConstantKernel.binding(self, inputs, node)
    }
}
