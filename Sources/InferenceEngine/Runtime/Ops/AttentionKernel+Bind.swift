extension AttentionKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        let operands = hasMask ? 4 : 3
        guard inputs.count >= operands, inputs.prefix(operands).allSatisfy({ $0?.elementType == .float32 }) else { return nil }
        // The chains' shapes and the scale factors must be the same in every run of the plan.
        for i in operands..<inputs.count where inputs[i] != nil && inputs[i]?.constant == nil { return nil }
        let layout: AttentionLayout
        do {
            layout = try AttentionLayout(self, shapes: inputs.prefix(operands).map { $0!.shape },
                                         operand: { $0 < inputs.count ? inputs[$0]?.constant : nil },
                                         threads: node.context.pool?.threadCount ?? 1, node)
        } catch {
            return nil
        }
        return .compute(BoundAttentionKernel(kernel: self, layout: layout))
    }
}

/// Fused scaled dot-product attention with the batch offsets, strides and copies of one plan's
/// shapes.
final class BoundAttentionKernel: BoundKernel {
    let kernel: AttentionKernel
    let layout: AttentionLayout
    let scratchBytes: Int

    init(kernel: AttentionKernel, layout: AttentionLayout) {
        self.kernel = kernel
        self.layout = layout
        scratchBytes = Swift.max(1, layout.scratchFloats) * MemoryLayout<Float>.stride
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard layout.outCount > 0, let y = io.optionalOutput(0, as: Float.self) else { return }
        kernel.compute(io.input(0), io.input(1), io.input(2), kernel.hasMask ? io.input(3) : nil, y, layout,
                       scratch: io.scratch(as: Float.self), pool: context.pool)
    }
}
