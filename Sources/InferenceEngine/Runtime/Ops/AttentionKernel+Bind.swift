extension AttentionKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let q = inputs[0], let k = inputs[1], let v = inputs[2],
              [q, k, v].allSatisfy({ $0.elementType == .float32 }) else { return nil }
        var maskShape: [Int]?
        if hasMask {
            guard inputs.count > 3, let mask = inputs[3], mask.elementType == .float32 else { return nil }
            maskShape = mask.shape
        }
        guard let layout = try? layout(q: q.shape, k: k.shape, v: v.shape, mask: maskShape) else { return nil }
        return .compute(BoundAttentionKernel(kernel: self, layout: layout))
    }
}

/// Fused scaled dot-product attention with the batch offsets and extents of one plan's shapes.
final class BoundAttentionKernel: BoundKernel {
    let kernel: AttentionKernel
    let layout: AttentionKernel.Layout
    let scratchBytes: Int

    init(kernel: AttentionKernel, layout: AttentionKernel.Layout) {
        self.kernel = kernel
        self.layout = layout
        scratchBytes = kernel.scratchFloats(layout) * MemoryLayout<Float>.stride
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard layout.outCount > 0, let y = io.optionalOutput(0, as: Float.self) else { return }
        kernel.compute(io.input(0), io.input(1), io.input(2), kernel.hasMask ? io.input(3) : nil, y, layout,
                       scratch: io.scratch(as: Float.self))
    }
}
