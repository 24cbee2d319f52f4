extension NormalizerKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let input = MLFeatureInput(x), let (rows, columns) = MLFeatureInput.matrixShape(x.shape) else { return nil }
        return .compute(BoundNormalizerKernel(kernel: self, input: input, rows: rows, columns: columns))
    }
}

/// Normalizer bound to one plan's `[rows, columns]` input.
final class BoundNormalizerKernel: BoundKernel {
    let kernel: NormalizerKernel
    let input: MLFeatureInput
    let rows: Int, columns: Int

    init(kernel: NormalizerKernel, input: MLFeatureInput, rows: Int, columns: Int) {
        self.kernel = kernel
        self.input = input
        self.rows = rows
        self.columns = columns
    }

    var scratchBytes: Int { input.scratchBytes }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalOutput(0, as: Float.self) else { return }
        kernel.normalize(input.floats(io, 0, scratch: io.scratch), y, rows: rows, columns: columns)
    }
}
