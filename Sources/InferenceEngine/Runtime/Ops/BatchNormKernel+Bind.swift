extension BatchNormKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], x.elementType == .float32, x.shape.count >= 2 else { return nil }
        let c = x.shape[1]
        var params: [[Float]] = []
        for i in 1...4 {
            guard inputs.count > i, let p = inputs[i], p.elementType == .float32, p.elementCount == c else { return nil }
            if let values = p.constant?.floats { params.append(values) }
        }
        // Constant statistics (the usual case) fold to one multiply-add per channel once.
        var folded: (mul: [Float], add: [Float])?
        if params.count == 4 {
            var mul = [Float](repeating: 0, count: c), add = [Float](repeating: 0, count: c)
            Self.coefficients(params[0], params[1], params[2], params[3], epsilon: epsilon, mul: &mul, add: &add)
            folded = (mul, add)
        }
        return .compute(BoundBatchNormKernel(kernel: self, outer: x.shape[0], channels: c,
                                             inner: ShapeMath.product(x.shape, 2..<x.shape.count), folded: folded))
    }
}

/// Inference BatchNormalization with one plan's shape; the per-channel multiply-add is folded
/// when bound if the statistics are constant, else each run into scratch.
final class BoundBatchNormKernel: BoundKernel {
    let kernel: BatchNormKernel
    let outer: Int, channels: Int, inner: Int
    let folded: (mul: [Float], add: [Float])?
    let scratchBytes: Int

    init(kernel: BatchNormKernel, outer: Int, channels: Int, inner: Int, folded: (mul: [Float], add: [Float])?) {
        self.kernel = kernel
        self.outer = outer
        self.channels = channels
        self.inner = inner
        self.folded = folded
        scratchBytes = folded == nil ? 2 * channels * MemoryLayout<Float>.stride : 0
    }

    func readsInput(_ index: Int) -> Bool { index == 0 || folded == nil }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalOutput(0, as: Float.self), outer * channels * inner > 0 else { return }
        let x: UnsafePointer<Float> = io.input(0)
        if let folded {
            folded.mul.withUnsafeBufferPointer { m in folded.add.withUnsafeBufferPointer { a in
                BatchNormKernel.apply(x, y, outer: outer, channels: channels, inner: inner, mul: m.baseAddress!, add: a.baseAddress!)
            } }
            return
        }
        let mul = io.scratch(as: Float.self), add = mul + channels
        BatchNormKernel.coefficients(io.input(1), io.input(2), io.input(3), io.input(4), epsilon: kernel.epsilon, channels: channels,
                                     mul: mul, add: add)
        BatchNormKernel.apply(x, y, outer: outer, channels: channels, inner: inner, mul: mul, add: add)
    }
}
