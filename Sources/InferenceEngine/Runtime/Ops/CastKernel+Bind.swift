extension CastKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], Self.converts(x.elementType, to) else { return nil }
        // A cast to the same type changes nothing: the output is the input's bytes.
        if x.elementType == to { return .alias }
        return .compute(BoundCastKernel(from: x.elementType, to: to, count: x.elementCount))
    }
}

/// Cast (and CastLike) between two element types over one plan's element count.
final class BoundCastKernel: BoundKernel {
    let from: ElementType, to: ElementType
    let count: Int

    init(from: ElementType, to: ElementType, count: Int) {
        self.from = from
        self.to = to
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalRawOutput(0), count > 0 else { return }
        CastKernel.convert(io.rawInput(0), from, y, to, count: count)
    }
}
