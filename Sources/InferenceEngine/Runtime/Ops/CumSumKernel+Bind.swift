extension CumSumKernel {
    /// The axis decides the scan's structure, so it must be constant.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], [.float32, .int64, .int32].contains(x.elementType), let axisT = inputs[1]?.constant else { return nil }
        let axis = try Self.axis(axisT, rank: x.shape.count, node)
        return .compute(BoundCumSumKernel(layout: Layout(x.shape, axis: axis, exclusive: exclusive, reverse: reverse), type: x.elementType))
    }
}

/// CumSum bound to one plan's shape and axis.
final class BoundCumSumKernel: BoundKernel {
    let layout: CumSumKernel.Layout
    let type: ElementType

    init(layout: CumSumKernel.Layout, type: ElementType) {
        self.layout = layout
        self.type = type
    }

    func readsInput(_ index: Int) -> Bool { index == 0 }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        layout.apply(UnsafeRawPointer(io.input(0, as: UInt8.self)), io.output(0, as: UInt8.self), type)
    }
}
