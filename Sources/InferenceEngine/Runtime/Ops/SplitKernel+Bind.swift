extension SplitKernel {
    /// One strided view per output; runtime split sizes must be constant for the plan.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0] else { return nil }
        var given: [Int64]?
        if runtimeSplit {
            guard case .constant(let v) = inputs.bindInput(1) else { return nil }
            given = v
        }
        let views = try self.views(x.shape, given: given, node)
        return BoundStridedCopyKernel.binding(x, views: views.map { StridedView($0.shape, base: $0.base, strides: $0.strides) })
    }
}
