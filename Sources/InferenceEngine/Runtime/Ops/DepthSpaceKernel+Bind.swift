extension DepthSpaceKernel {
    /// DepthToSpace and SpaceToDepth are a 6-D transpose: a strided copy merged once.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0] else { return nil }
        let view = try self.view(x.shape, node)
        return BoundStridedCopyKernel.binding(x, views: [StridedView(view.shape, strides: view.strides)])
    }
}

extension EyeLikeKernel {
    /// The output depends on the input's shape alone: made once at bind.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0], x.shape.count == 2 else { return nil }
        return .compute(BoundConstantKernel(values: [make(x.shape)]))
    }
}
