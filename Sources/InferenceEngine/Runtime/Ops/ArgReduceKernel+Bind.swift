extension ArgReduceKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0], [.float32, .int64, .int32].contains(x.elementType), x.shape[axis] > 0 else { return nil }
        let shape = x.shape
        return .compute(BoundArgReduceKernel(kernel: self, type: x.elementType, outer: ShapeMath.product(shape, 0..<axis), n: shape[axis],
                                             inner: ShapeMath.product(shape, (axis + 1)..<shape.count)))
    }
}

/// ArgMax/ArgMin with its extents fixed by one plan's shape.
final class BoundArgReduceKernel: BoundKernel {
    let kernel: ArgReduceKernel
    let type: ElementType
    let outer: Int, n: Int, inner: Int

    init(kernel: ArgReduceKernel, type: ElementType, outer: Int, n: Int, inner: Int) {
        self.kernel = kernel
        self.type = type
        (self.outer, self.n, self.inner) = (outer, n, inner)
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        kernel.apply(UnsafeRawPointer(io.input(0, as: UInt8.self)), type, io.output(0), outer: outer, n: n, inner: inner)
    }
}
