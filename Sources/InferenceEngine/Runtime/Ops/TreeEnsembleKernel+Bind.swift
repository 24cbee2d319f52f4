extension TreeEnsembleKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let input = MLFeatureInput(x), let (n, c) = MLFeatureInput.matrixShape(x.shape),
              featureCount <= c else { return nil }
        let scoresIndex = isClassifier ? 1 : 0
        let scores = scoresIndex < outputs.count ? outputs[scoresIndex] : nil
        if let scores, scores.shape != [n, self.outputs] { return nil }
        return .compute(BoundTreeEnsembleKernel(kernel: self, input: input, rows: n, columns: c, scoresIndex: scoresIndex,
                                                scoresInScratch: scores == nil))
    }
}

/// TreeEnsembleRegressor or TreeEnsembleClassifier bound to one plan's `[rows, columns]`
/// input. The per-row accumulators (which outputs a leaf touched, and the scores when nothing
/// reads them) live in scratch space, so a run allocates nothing.
final class BoundTreeEnsembleKernel: BoundKernel {
    let kernel: TreeEnsembleKernel
    let input: MLFeatureInput
    let rows: Int, columns: Int
    let scoresIndex: Int
    /// Scratch layout: [scores when no output receives them][converted input][flags].
    let scoresBytes: Int
    let flagsOffset: Int
    let scratchBytes: Int

    init(kernel: TreeEnsembleKernel, input: MLFeatureInput, rows: Int, columns: Int, scoresIndex: Int, scoresInScratch: Bool) {
        self.kernel = kernel
        self.input = input
        self.rows = rows
        self.columns = columns
        self.scoresIndex = scoresIndex
        scoresBytes = scoresInScratch ? (rows * kernel.outputs * MemoryLayout<Float>.stride + 63) / 64 * 64 : 0
        flagsOffset = scoresBytes + input.scratchBytes
        scratchBytes = flagsOffset + rows * kernel.outputs * MemoryLayout<Bool>.stride
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard rows > 0, let scratch = io.scratch else { return }
        let x = input.floats(io, 0, scratch: scratch + scoresBytes)
        let scores = io.optionalOutput(scoresIndex, as: Float.self) ?? scratch.assumingMemoryBound(to: Float.self)
        let labels = kernel.isClassifier ? io.optionalOutput(0, as: Int64.self) : nil
        kernel.evaluate(x, rows: rows, columns: columns, scores: scores, labels: labels,
                        flags: (scratch + flagsOffset).assumingMemoryBound(to: Bool.self), pool: context.pool)
    }
}
