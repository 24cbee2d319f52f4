extension ExpandKernel {
    /// A broadcast copy (stride 0 on the expanded axes); the target shape must be constant.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], case .constant(let target) = inputs.bindInput(1) else { return nil }
        let outShape = try Self.shape(x.shape, target: target, node)
        if outShape == x.shape { return .alias }
        return BoundStridedCopyKernel.binding(x, views: [StridedView(outShape, strides: Generic.broadcastStrides(x.shape, in: outShape))])
    }
}
