extension LinearKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let input = MLFeatureInput(x), let (n, c) = MLFeatureInput.matrixShape(x.shape),
              coefficients.count == rows * c else { return nil }
        let scoresIndex = classifier == nil ? 0 : 1
        let scores = scoresIndex < outputs.count ? outputs[scoresIndex] : nil
        if let scores, scores.shape != [n, scoreWidth] { return nil }
        return .compute(BoundLinearKernel(kernel: self, input: input, rows: n, columns: c, scoresIndex: scoresIndex,
                                          scoresInScratch: scores == nil))
    }
}

/// LinearRegressor or LinearClassifier bound to one plan's `[rows, columns]` input. When
/// nothing reads a classifier's scores (only its labels), they are computed in scratch space.
final class BoundLinearKernel: BoundKernel {
    let kernel: LinearKernel
    let input: MLFeatureInput
    let rows: Int, columns: Int
    let scoresIndex: Int
    /// Bytes of scratch before the converted input: the scores when no output receives them.
    let scoresBytes: Int
    let scratchBytes: Int

    init(kernel: LinearKernel, input: MLFeatureInput, rows: Int, columns: Int, scoresIndex: Int, scoresInScratch: Bool) {
        self.kernel = kernel
        self.input = input
        self.rows = rows
        self.columns = columns
        self.scoresIndex = scoresIndex
        scoresBytes = scoresInScratch ? (rows * kernel.scoreWidth * MemoryLayout<Float>.stride + 63) / 64 * 64 : 0
        scratchBytes = scoresBytes + input.scratchBytes
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard rows > 0 else { return }
        let scratch = io.scratch
        let x = input.floats(io, 0, scratch: scratch.map { $0 + scoresBytes })
        let scores = io.optionalOutput(scoresIndex, as: Float.self) ?? scratch!.assumingMemoryBound(to: Float.self)
        let labels = kernel.classifier == nil ? nil : io.optionalOutput(0, as: Int64.self)
        kernel.evaluate(x, rows: rows, columns: columns, scores: scores, labels: labels)
    }
}
