extension BinaryKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let a = inputs[0], let b = inputs[1], supports(a.elementType, b.elementType),
              let shape = Broadcast.shape(a.shape, b.shape) else { return nil }
        return .compute(BoundTypedBinaryKernel(kernel: self, aType: a.elementType, bType: b.elementType, bCount: b.elementCount,
                                               pattern: BroadcastPattern(a.shape, b.shape, outShape: shape)))
    }
}

/// A ``BinaryKernel`` (Pow, Mod, comparisons, logic, Max/Min, integer arithmetic) with the
/// element types and broadcast pattern of one plan's shapes.
final class BoundTypedBinaryKernel: BoundKernel {
    let kernel: BinaryKernel
    let aType: ElementType, bType: ElementType
    let bCount: Int
    let pattern: BroadcastPattern

    init(kernel: BinaryKernel, aType: ElementType, bType: ElementType, bCount: Int, pattern: BroadcastPattern) {
        self.kernel = kernel
        self.aType = aType
        self.bType = bType
        self.bCount = bCount
        self.pattern = pattern
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) throws(InferenceError) {
        guard let y = io.optionalRawOutput(0), pattern.count > 0 else { return }
        let b = io.rawInput(1)
        if aType != .float32, kernel.dividesByZero(b, bType, count: bCount) { throw io.invalid("integer division by zero") }
        kernel.compute(io.rawInput(0), aType, b, bType, y, pattern)
    }
}
