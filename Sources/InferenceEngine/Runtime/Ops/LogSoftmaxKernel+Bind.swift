extension LogSoftmaxKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0], x.elementType == .float32 else { return nil }
        return .compute(BoundLogSoftmaxKernel(extents: AxisExtents(x.shape, axis: axis, coerce: coerce)))
    }
}

/// LogSoftmax with its extents fixed by one plan's shape.
final class BoundLogSoftmaxKernel: BoundKernel {
    let extents: AxisExtents
    init(extents: AxisExtents) { self.extents = extents }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        LogSoftmaxKernel.apply(io.input(0), io.output(0), extents)
    }
}
