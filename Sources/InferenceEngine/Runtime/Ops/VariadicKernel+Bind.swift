extension VariadicKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        var shapes: [[Int]] = [], shape: [Int] = []
        guard let type = inputs.first??.elementType, BinaryKernel(op: op, fmod: false).supports(type, type) else { return nil }
        for input in inputs {
            guard let input, input.elementType == type, let s = Broadcast.shape(shape, input.shape) else { return nil }
            shapes.append(input.shape)
            shape = s
        }
        return .compute(BoundVariadicKernel(kernel: self, type: type, patterns: Self.patterns(shapes, outShape: shape),
                                            count: ShapeMath.product(shape, 0..<shape.count)))
    }
}

/// Sum, Mean, Max or Min of several inputs with the broadcast patterns of one plan's shapes.
final class BoundVariadicKernel: BoundKernel {
    let kernel: VariadicKernel
    let type: ElementType
    let patterns: [BroadcastPattern]
    let count: Int

    init(kernel: VariadicKernel, type: ElementType, patterns: [BroadcastPattern], count: Int) {
        self.kernel = kernel
        self.type = type
        self.patterns = patterns
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalRawOutput(0), count > 0 else { return }
        kernel.compute({ io.rawInput($0) }, type, y, patterns, count: count)
    }
}
