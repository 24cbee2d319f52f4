extension WhereKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let c = inputs[0], let x = inputs[1], let y = inputs[2], c.elementType == .bool, x.elementType == y.elementType,
              let width = x.elementType.byteWidth, let cx = Broadcast.shape(c.shape, x.shape),
              let shape = Broadcast.shape(cx, y.shape) else { return nil }
        return .compute(BoundWhereKernel(width: width, pattern: BroadcastPattern([c.shape, x.shape, y.shape], outShape: shape)))
    }
}

/// Where with the element width and broadcast pattern of one plan's shapes.
final class BoundWhereKernel: BoundKernel {
    let width: Int
    let pattern: BroadcastPattern

    init(width: Int, pattern: BroadcastPattern) {
        self.width = width
        self.pattern = pattern
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let out = io.optionalRawOutput(0), pattern.count > 0 else { return }
        WhereKernel.compute(io.rawInput(0), io.rawInput(1), io.rawInput(2), out, width: width, pattern)
    }
}
