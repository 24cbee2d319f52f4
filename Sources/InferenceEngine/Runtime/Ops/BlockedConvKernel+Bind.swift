extension BlockedConvKernel {
    /// A blocked Conv bound to one plan's shapes: the ``Setup`` (geometry, reduction steps,
    /// packed weights) is made here, once.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs.first ?? nil, x.elementType == .float32, let y = outputs.first ?? nil,
              let setup = try? Setup(self, x: x.shape, node), setup.outShape == y.shape else { return nil }
        if conv.residual {
            guard inputs.count > 3, let r = inputs[3], r.shape == setup.outShape, r.elementType == .float32 else { return nil }
        }
        return .compute(BoundBlockedConvKernel(setup))
    }
}

/// A blocked Conv node of a ``ShapePlan``; the padded image copy lives in ``ThreadScratch``.
final class BoundBlockedConvKernel: BoundKernel {
    let setup: BlockedConvKernel.Setup

    init(_ setup: BlockedConvKernel.Setup) { self.setup = setup }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard setup.total > 0 else { return }
        setup.run(x: io.input(0), residual: setup.kernel.conv.residual ? io.input(3) : nil, y: io.output(0), pool: context.pool)
    }
}
