extension ConvTransposeKernel {
    /// ConvTranspose bound to one plan's shapes.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard inputs.count >= 2, let x = inputs[0], let w = inputs[1], x.elementType == .float32, w.elementType == .float32,
              let d = try? dimensions(x: x.shape, w: w.shape, biasCount: inputs.count > 2 ? inputs[2].map(\.elementCount) : nil, node),
              outputs.first??.shape == d.outShape else { return nil }
        return .compute(BoundConvTransposeKernel(kernel: self, dimensions: d))
    }
}

/// A ConvTranspose node of a ``ShapePlan``, its sizes and output geometry fixed.
final class BoundConvTransposeKernel: BoundKernel {
    let kernel: ConvTransposeKernel
    let dimensions: ConvTransposeKernel.Dimensions

    init(kernel: ConvTransposeKernel, dimensions: ConvTransposeKernel.Dimensions) {
        self.kernel = kernel
        self.dimensions = dimensions
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard dimensions.total > 0 else { return }
        kernel.compute(io.input(0), io.input(1), io.optionalInput(2), into: io.output(0), dimensions)
    }
}
