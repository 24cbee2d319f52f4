extension GlobalPoolKernel {
    /// GlobalAveragePool and GlobalMaxPool bound to one plan's shapes.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs.first ?? nil, x.elementType == .float32, x.shape.count >= 2 else { return nil }
        return .compute(BoundGlobalPoolKernel(kernel: self, planes: x.shape[0] * x.shape[1], size: ShapeMath.product(x.shape, 2..<x.shape.count)))
    }
}

/// A GlobalAveragePool or GlobalMaxPool node of a ``ShapePlan``, its plane count and size fixed.
final class BoundGlobalPoolKernel: BoundKernel {
    let kernel: GlobalPoolKernel
    let planes: Int, size: Int

    init(kernel: GlobalPoolKernel, planes: Int, size: Int) {
        self.kernel = kernel
        self.planes = planes
        self.size = size
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard planes > 0 else { return }
        kernel.pool(io.input(0), planes: planes, size: size, into: io.output(0))
    }
}
