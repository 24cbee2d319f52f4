extension SliceKernel {
    /// Starts, ends, axes and steps decide the output shape, so they must be constant.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], case .constant(let starts) = inputs.bindInput(1), case .constant(let ends) = inputs.bindInput(2),
              case .some(let axes) = inputs.bindInput(3).ints(), case .some(let steps) = inputs.bindInput(4).ints() else { return nil }
        let view = try Self.view(x.shape, starts: starts, ends: ends, axes: axes, steps: steps, node)
        if view.identity { return .alias }
        return BoundStridedCopyKernel.binding(x, views: [StridedView(view.shape, base: view.base, strides: view.strides)])
    }
}
