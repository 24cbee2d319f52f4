extension LogSoftmaxKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        BoundAxisKernel.binding(inputs[0], axis: axis, coerce: coerce, Self.apply)
    }
}
