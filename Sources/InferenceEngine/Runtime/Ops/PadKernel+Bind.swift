extension PadKernel {
    /// Pads and axes decide the output shape, so they must be constant; the constant value
    /// may come with each request.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let width = BoundStridedCopyKernel.elementWidth(x.elementType),
              case .constant(let pads) = inputs.bindInput(1), case .some(let axes) = inputs.bindInput(3).ints() else { return nil }
        if inputs.count > 2, let value = inputs[2], value.elementCount != 1 || value.elementType != x.elementType { return nil }
        return .compute(BoundPadKernel(layout: try Layout(x.shape, pads: pads, axes: axes, mode: mode, width: width, node)))
    }
}

/// Pad bound to one plan's shapes and pads.
final class BoundPadKernel: BoundKernel {
    let layout: PadKernel.Layout

    init(layout: PadKernel.Layout) { self.layout = layout }

    func readsInput(_ index: Int) -> Bool { index == 0 || index == 2 }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 1) { zero in
            zero[0] = 0
            let fill = io.optionalInput(2, as: UInt8.self).map(UnsafeRawPointer.init) ?? UnsafeRawPointer(zero.baseAddress!)
            layout.apply(UnsafeRawPointer(io.input(0, as: UInt8.self)), io.output(0, as: UInt8.self), fill: fill)
        }
    }
}
