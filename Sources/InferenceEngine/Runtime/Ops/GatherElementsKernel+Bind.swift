extension GatherElementsKernel {
    /// The indices may come with each request: they are range-checked on every run.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let indices = inputs[1], let width = BoundStridedCopyKernel.elementWidth(x.elementType),
              indices.elementType == .int64 || indices.elementType == .int32 else { return nil }
        return .compute(BoundGatherElementsKernel(layout: try Layout(x.shape, indices: indices.shape, axis: axis, width: width,
                                                                     indexWidth: indices.elementType.byteWidth ?? 8, node)))
    }
}

/// GatherElements bound to one plan's shapes.
final class BoundGatherElementsKernel: BoundKernel {
    let layout: GatherElementsKernel.Layout

    init(layout: GatherElementsKernel.Layout) { self.layout = layout }

    func execute(_ io: BoundIO, _ context: ExecutionContext) throws(InferenceError) {
        if let bad = layout.gather(UnsafeRawPointer(io.input(0, as: UInt8.self)), UnsafeRawPointer(io.input(1, as: UInt8.self)),
                                   io.output(0, as: UInt8.self)) {
            throw .invalidInput("node '\(io.step.name)' (\(io.step.opType)): \(GatherElementsKernel.Layout.outOfRange(bad, layout.axisSize))")
        }
    }
}
