extension GatherKernel {
    /// The indices may come with each request: they are range-checked on every run.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let data = inputs[0], let indices = inputs[1], let width = BoundStridedCopyKernel.elementWidth(data.elementType),
              indices.elementType == .int64 || indices.elementType == .int32 else { return nil }
        let shape = data.shape
        let layout = Layout(outer: ShapeMath.product(shape, 0..<axis), axisSize: shape[axis],
                            inner: ShapeMath.product(shape, (axis + 1)..<shape.count), count: indices.elementCount,
                            width: width, indexWidth: indices.elementType.byteWidth ?? 8)
        return .compute(BoundGatherKernel(layout: layout, axis: axis))
    }
}

/// Gather bound to one plan's shapes (embedding lookups, picking a token or a head).
final class BoundGatherKernel: BoundKernel {
    let layout: GatherKernel.Layout
    let axis: Int

    init(layout: GatherKernel.Layout, axis: Int) {
        self.layout = layout
        self.axis = axis
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) throws(InferenceError) {
        let bad = layout.gather(UnsafeRawPointer(io.input(0, as: UInt8.self)), UnsafeRawPointer(io.input(1, as: UInt8.self)),
                                io.output(0, as: UInt8.self), pool: context.pool)
        if let bad {
            throw .invalidInput("node '\(io.step.name)' (\(io.step.opType)): \(GatherKernel.outOfRange(bad, axis: axis, size: layout.axisSize))")
        }
    }
}
