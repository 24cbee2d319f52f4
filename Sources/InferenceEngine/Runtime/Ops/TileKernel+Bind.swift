extension TileKernel {
    /// A strided copy with a stride-0 axis per repeat; the repeats must be constant.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], case .constant(let repeats) = inputs.bindInput(1) else { return nil }
        let view = try Self.view(x.shape, repeats: repeats, node)
        return BoundStridedCopyKernel.binding(x, views: [StridedView(view.shape, strides: view.strides)])
    }
}
