extension TransposeKernel {
    /// A copy through the merged view; no copy when the permutation moves only size-1 axes.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0] else { return nil }
        let (shape, strides) = view(x.shape)
        return BoundStridedCopyKernel.binding(x, views: [StridedView(shape, strides: strides)])
    }
}
