extension IsSpecialKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0], x.elementType == .float32 else { return nil }
        return .compute(BoundIsSpecialKernel(kernel: self, count: x.elementCount))
    }
}

/// IsNaN or IsInf over a planned float tensor.
final class BoundIsSpecialKernel: BoundKernel {
    let kernel: IsSpecialKernel
    let count: Int

    init(kernel: IsSpecialKernel, count: Int) {
        self.kernel = kernel
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        kernel.apply(io.input(0), io.output(0), count: count)
    }
}
