extension GroupNormKernel {
    /// InstanceNormalization and GroupNormalization bound to one plan's shapes.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard inputs.count == 3, let x = inputs[0], let scale = inputs[1], let bias = inputs[2],
              [x, scale, bias].allSatisfy({ $0.elementType == .float32 }),
              let d = try? dimensions(x.shape, scaleCount: scale.elementCount, biasCount: bias.elementCount, node) else { return nil }
        return .compute(BoundGroupNormKernel(kernel: self, dimensions: d))
    }
}

/// An InstanceNormalization or GroupNormalization node of a ``ShapePlan``, its sizes fixed.
final class BoundGroupNormKernel: BoundKernel {
    let kernel: GroupNormKernel
    let dimensions: GroupNormKernel.Dimensions

    init(kernel: GroupNormKernel, dimensions: GroupNormKernel.Dimensions) {
        self.kernel = kernel
        self.dimensions = dimensions
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard dimensions.count > 0 else { return }
        kernel.normalize(io.input(0), scale: io.input(1), bias: io.input(2), into: io.output(0), dimensions)
    }
}
