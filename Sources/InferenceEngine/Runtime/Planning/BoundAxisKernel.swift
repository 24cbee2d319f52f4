/// Softmax, LogSoftmax or Hardmax bound to one plan's shape: a float map along one axis whose
/// `[outer, length, inner]` extents are fixed once.
final class BoundAxisKernel: BoundKernel {
    typealias Apply = @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, AxisExtents) -> Void
    let extents: AxisExtents
    let apply: Apply

    init(extents: AxisExtents, apply: @escaping Apply) {
        self.extents = extents
        self.apply = apply
    }

    /// The binding for a float input along `axis` (nil for any other input).
    static func binding(_ x: PlanValue?, axis: Int, coerce: Bool, _ apply: @escaping Apply) -> KernelBinding? {
        guard let x, x.elementType == .float32 else { return nil }
        return .compute(BoundAxisKernel(extents: AxisExtents(x.shape, axis: axis, coerce: coerce), apply: apply))
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        apply(io.input(0), io.output(0), extents)
    }
}

extension NodeExecutor {
    /// The general executor's counterpart of ``BoundAxisKernel``: `apply` over a float input
    /// along `axis`, into a same-shaped output.
    func mapAlongAxis(_ input: Tensor?, axis: Int, coerce: Bool, _ apply: BoundAxisKernel.Apply) throws(InferenceError) -> Tensor {
        let (x, shape) = try floats(input)
        let extents = AxisExtents(shape, axis: axis, coerce: coerce)
        let y = outputFloats(x.count) { out, n in
            x.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = out.baseAddress { apply(s, d, extents) }
            }
            n = x.count
        }
        return Tensor(shape: shape, storage: .float32(y))
    }
}
