extension LayerNormKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let scale = inputs[1], x.elementType == .float32, axis <= x.shape.count else { return nil }
        let normShape = Array(x.shape[axis...])
        let inner = ShapeMath.product(normShape, 0..<normShape.count)
        // Scale and bias of the full normalized shape are read in place; smaller ones that
        // broadcast are expanded once here, which needs their values (initializers, in practice).
        func parameter(_ value: PlanValue?) -> BoundLayerNormKernel.Parameter? {
            guard let value, value.elementType == .float32 else { return nil }
            if value.elementCount == inner, value.shape.count <= normShape.count,
               Broadcast.shape(normShape, value.shape) == normShape { return .input }
            guard let constant = value.constant?.floats, let e = Self.expanded(constant, value.shape, to: normShape) else { return nil }
            return .expanded(e)
        }
        guard let gamma = parameter(scale) else { return nil }
        var beta: BoundLayerNormKernel.Parameter?
        if inputs.count > 2, let bias = inputs[2] {
            guard let b = parameter(bias) else { return nil }
            beta = b
        }
        return .compute(BoundLayerNormKernel(kernel: self, outer: ShapeMath.product(x.shape, 0..<axis), inner: inner,
                                             gamma: gamma, beta: beta))
    }
}

/// LayerNormalization with one plan's row count and width.
final class BoundLayerNormKernel: BoundKernel {
    enum Parameter {
        /// Read from the node's input (it has one value per normalized element).
        case input
        /// Broadcast to the normalized shape when bound.
        case expanded([Float])
    }

    let kernel: LayerNormKernel
    let outer: Int, inner: Int
    let gamma: Parameter
    let beta: Parameter?

    init(kernel: LayerNormKernel, outer: Int, inner: Int, gamma: Parameter, beta: Parameter?) {
        self.kernel = kernel
        self.outer = outer
        self.inner = inner
        self.gamma = gamma
        self.beta = beta
    }

    func readsInput(_ index: Int) -> Bool {
        switch index {
        case 1: if case .expanded = gamma { return false }
        case 2: if case .expanded? = beta { return false }
        default: break
        }
        return true
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard outer > 0, inner > 0 else { return }
        let x: UnsafePointer<Float> = io.input(0)
        let means = io.optionalOutput(1, as: Float.self), invStd = io.optionalOutput(2, as: Float.self)
        // The normalized rows are what every reader of this node uses; without them it is dead.
        guard let y = io.optionalOutput(0, as: Float.self) else { return }
        withParameter(gamma, io, 1) { g in
            if let beta {
                withParameter(beta, io, 2) { b in
                    kernel.compute(x, y, outer: outer, inner: inner, gamma: g, beta: b, means: means, invStd: invStd)
                }
            } else {
                kernel.compute(x, y, outer: outer, inner: inner, gamma: g, beta: nil, means: means, invStd: invStd)
            }
        }
    }

    @inline(__always)
    private func withParameter(_ p: Parameter, _ io: BoundIO, _ index: Int, _ body: (UnsafePointer<Float>) -> Void) {
        switch p {
        case .input: body(io.input(index))
        case .expanded(let values): values.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}
