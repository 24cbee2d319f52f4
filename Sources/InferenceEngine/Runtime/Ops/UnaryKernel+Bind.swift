extension UnaryKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], TensorStorage.supportedTypes.contains(x.elementType) else { return nil }
        return .compute(BoundTypedUnaryKernel(kernel: self, type: x.elementType, count: x.elementCount))
    }
}

/// A ``UnaryKernel`` (Erf, Sqrt, Exp, Gelu, Not, Neg, ...) over one plan's element count.
final class BoundTypedUnaryKernel: BoundKernel {
    let kernel: UnaryKernel
    let type: ElementType
    let count: Int

    init(kernel: UnaryKernel, type: ElementType, count: Int) {
        self.kernel = kernel
        self.type = type
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalRawOutput(0), count > 0, let width = type.byteWidth else { return }
        let x = io.rawInput(0)
        IntraOpPool.forEachElementChunk(of: count, on: context.pool) { range in
            kernel.compute(x + range.lowerBound * width, type, y + range.lowerBound * width, count: range.count)
        }
    }
}
