extension BlockedPoolKernel {
    /// A blocked pool bound to one plan's shapes: the window table is made here, once.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs.first ?? nil, x.elementType == .float32,
              let setup = try? Setup(self, x: x.shape, node), outputs.first??.shape == setup.outShape else { return nil }
        return .compute(BoundBlockedPoolKernel(setup))
    }
}

/// A blocked MaxPool or AveragePool node of a ``ShapePlan``.
final class BoundBlockedPoolKernel: BoundKernel {
    let setup: BlockedPoolKernel.Setup

    init(_ setup: BlockedPoolKernel.Setup) { self.setup = setup }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard setup.total > 0 else { return }
        setup.run(io.input(0), y: io.output(0), threads: context.pool)
    }
}
