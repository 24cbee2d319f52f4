extension ReshapeKernel {
    /// Every mode is a view of the input; modes that read the shape or axes per request need
    /// them constant, since they decide the output shape.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        switch mode {
        case .squeeze, .unsqueeze, .flatten, .reshape:
            return .alias
        case .dynamic, .squeezeInput, .unsqueezeInput:
            guard case .constant = inputs.bindInput(1) else { return nil }
            return .alias
        }
    }
}
