extension ConcatKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        var shapes: [[Int]] = []
        for input in inputs {
            guard let input else { return nil }
            shapes.append(input.shape)
        }
        guard let first = inputs.first ?? nil, let width = BoundStridedCopyKernel.elementWidth(first.elementType) else { return nil }
        if inputs.count == 1 { return .alias }
        return .compute(BoundConcatKernel(layout: Layout(axis: axis, shapes: shapes, width: width)))
    }
}

/// Concat bound to one plan's shapes: the run length of every part and the output row size
/// are fixed, so a run is one memcpy per part and outer index.
final class BoundConcatKernel: BoundKernel {
    let layout: ConcatKernel.Layout

    init(layout: ConcatKernel.Layout) { self.layout = layout }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        layout.concatenate(into: io.output(0, as: UInt8.self), pool: context.pool) { UnsafeRawPointer(io.input($0, as: UInt8.self)) }
    }
}
