extension TriluKernel {
    /// The diagonal offset decides which bytes are kept, so it must be constant.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let width = BoundStridedCopyKernel.elementWidth(x.elementType) else { return nil }
        let kInput = inputs.count > 1 ? inputs[1] : nil
        if let kInput, kInput.constant == nil { return nil }
        let k = try Self.diagonal(kInput?.constant, node)
        return .compute(BoundTriluKernel(layout: Layout(x.shape, k: k, upper: upper, width: width)))
    }
}

/// Trilu bound to one plan's shapes and diagonal offset.
final class BoundTriluKernel: BoundKernel {
    let layout: TriluKernel.Layout

    init(layout: TriluKernel.Layout) { self.layout = layout }

    func readsInput(_ index: Int) -> Bool { index == 0 }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard layout.matrices * layout.rows * layout.cols > 0 else { return }
        layout.apply(UnsafeRawPointer(io.input(0, as: UInt8.self)), io.output(0, as: UInt8.self))
    }
}
