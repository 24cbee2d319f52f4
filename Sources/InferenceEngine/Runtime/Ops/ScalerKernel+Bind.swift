extension ScalerKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let input = MLFeatureInput(x), let (offsets, scales) = perFeature(x.shape.last ?? 1) else { return nil }
        return .compute(BoundScalerKernel(input: input, offsets: offsets, scales: scales))
    }
}

/// Scaler bound to one plan's input size, with offset and scale spelled out per feature once.
final class BoundScalerKernel: BoundKernel {
    let input: MLFeatureInput
    let offsets: [Float], scales: [Float]

    init(input: MLFeatureInput, offsets: [Float], scales: [Float]) {
        self.input = input
        self.offsets = offsets
        self.scales = scales
    }

    var scratchBytes: Int { input.scratchBytes }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalOutput(0, as: Float.self) else { return }
        ScalerKernel.apply(input.floats(io, 0, scratch: io.scratch), y, count: input.count, offsets: offsets, scales: scales)
    }
}
