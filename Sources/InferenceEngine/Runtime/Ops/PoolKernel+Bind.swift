extension PoolKernel {
    /// MaxPool and AveragePool bound to one plan's shapes: the ``Setup`` (path, window tables,
    /// divisor counts) is made here, once.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs.first ?? nil, x.elementType == .float32,
              let setup = try? Setup(self, x: x.shape, node), outputs.first??.shape == setup.outShape else { return nil }
        return .compute(BoundPoolKernel(setup))
    }
}

/// A MaxPool or AveragePool node of a ``ShapePlan``: runs its ``PoolKernel/Setup`` on the
/// plan's pointers, the wide path's padded plane in the plan's scratch space.
final class BoundPoolKernel: BoundKernel {
    let setup: PoolKernel.Setup
    let scratchBytes: Int

    init(_ setup: PoolKernel.Setup) {
        self.setup = setup
        scratchBytes = setup.scratchFloats * MemoryLayout<Float>.stride
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard setup.total > 0 else { return }
        setup.run(io.input(0), y: io.output(0), indices: setup.kernel.indices ? io.optionalOutput(1) : nil,
                  scratch: scratchBytes > 0 ? io.scratch(as: Float.self) : nil, threads: context.pool)
    }
}
