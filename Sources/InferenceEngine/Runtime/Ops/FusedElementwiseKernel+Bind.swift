extension FusedElementwiseKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        var shapes: [[Int]] = [], shape: [Int] = []
        for input in inputs {
            guard let input, input.elementType == .float32, let s = Broadcast.shape(shape, input.shape) else { return nil }
            shapes.append(input.shape)
            shape = s
        }
        return .compute(BoundFusedElementwiseKernel(kernel: self, pattern: BroadcastPattern(shapes, outShape: shape)))
    }
}

/// A fused elementwise program with the broadcast pattern of one plan's shapes.
final class BoundFusedElementwiseKernel: BoundKernel {
    let kernel: FusedElementwiseKernel
    let pattern: BroadcastPattern
    let scratchBytes: Int

    init(kernel: FusedElementwiseKernel, pattern: BroadcastPattern) {
        self.kernel = kernel
        self.pattern = pattern
        scratchBytes = kernel.scratchBytes(operands: pattern.operands)
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalOutput(0, as: Float.self) else { return }
        kernel.compute({ io.input($0) }, y, pattern, scratch: io.scratch!)
    }
}
