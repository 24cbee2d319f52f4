extension HardmaxKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0], x.elementType == .float32 else { return nil }
        return .compute(BoundHardmaxKernel(extents: AxisExtents(x.shape, axis: axis, coerce: coerce)))
    }
}

/// Hardmax with its extents fixed by one plan's shape.
final class BoundHardmaxKernel: BoundKernel {
    let extents: AxisExtents
    init(extents: AxisExtents) { self.extents = extents }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        HardmaxKernel.apply(io.input(0), io.output(0), extents)
    }
}
