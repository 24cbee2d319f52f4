extension AddLayerNormKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let a = inputs[0], let b = inputs[1], let gamma = inputs[2], a.elementType == .float32, b.elementType == .float32,
              gamma.elementType == .float32, gamma.elementCount == width, let layout = layout(a.shape, b.shape) else { return nil }
        if inputs.count > 3, let beta = inputs[3] {
            guard beta.elementType == .float32, beta.elementCount == width else { return nil }
        }
        return .compute(BoundAddLayerNormKernel(kernel: self, layout: layout))
    }
}

/// LayerNormalization of a residual sum with the addends' layout of one plan's shapes; a
/// general broadcast forms the sum in scratch first.
final class BoundAddLayerNormKernel: BoundKernel {
    let kernel: AddLayerNormKernel
    let layout: AddLayerNormKernel.Layout
    let scratchBytes: Int

    init(kernel: AddLayerNormKernel, layout: AddLayerNormKernel.Layout) {
        self.kernel = kernel
        self.layout = layout
        // One row for the sum when nothing reads it, then the broadcast sum of a general layout.
        var floats = kernel.width
        if case .general = layout.mode { floats += layout.count }
        scratchBytes = floats * MemoryLayout<Float>.stride
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard layout.count > 0, let y = io.optionalOutput(0, as: Float.self) else { return }
        let big: UnsafePointer<Float> = io.input(layout.swapped ? 1 : 0), small: UnsafePointer<Float> = io.input(layout.swapped ? 0 : 1)
        let sum = kernel.emitsSum ? io.optionalOutput(1, as: Float.self) : nil
        let gamma: UnsafePointer<Float> = io.input(2), beta: UnsafePointer<Float>? = io.optionalInput(3)
        let row = io.scratch(as: Float.self)
        switch layout.mode {
        case .same, .row:
            kernel.compute(big, small, smallRowStride: layout.isRow ? 0 : kernel.width, rows: layout.rows,
                           gamma: gamma, beta: beta, y: y, sum: sum, rowScratch: row)
        case .general(let pattern):
            let summed = row + kernel.width
            pattern.apply(.add, big, small, summed)
            kernel.compute(summed, nil, smallRowStride: 0, rows: layout.rows, gamma: gamma, beta: beta, y: y, sum: sum, rowScratch: row)
        }
    }
}
