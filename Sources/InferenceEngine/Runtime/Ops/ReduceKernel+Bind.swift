extension ReduceKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], TensorStorage.supportedTypes.contains(x.elementType) else { return nil }
        // Axes that come from an input decide the output shape: they must be the same every run.
        var given: [Int64]?
        if axes == nil, inputs.count > 1, let axesInput = inputs[1] {
            guard let values = axesInput.constantInts else { return nil }
            given = values
        }
        guard case .success(let resolved) = resolvedAxes(rank: x.shape.count, given: given) else { return nil }
        guard let resolved else { return .alias }
        let layout = ReduceLayout(shape: x.shape, axes: resolved, keepDims: keepDims)
        return .compute(BoundReduceKernel(kernel: self, type: x.elementType, layout: layout))
    }
}

/// A reduction with the walk (``ReduceLayout``) of one plan's input shape and axes.
final class BoundReduceKernel: BoundKernel {
    let kernel: ReduceKernel
    let type: ElementType
    let layout: ReduceLayout
    let scratchBytes: Int

    init(kernel: ReduceKernel, type: ElementType, layout: ReduceLayout) {
        self.kernel = kernel
        self.type = type
        self.layout = layout
        scratchBytes = kernel.op == .logSumExp ? layout.outCount * MemoryLayout<Float>.stride : 0
    }

    /// The axes input was read when binding.
    func readsInput(_ index: Int) -> Bool { index == 0 }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalRawOutput(0), layout.outCount > 0 else { return }
        kernel.compute(io.rawInput(0), type, y, layout, scratch: scratchBytes > 0 ? io.scratch(as: Float.self) : nil)
    }
}
