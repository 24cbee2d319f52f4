extension ConvKernel {
    /// Conv and FusedConv bound to one plan's shapes: the ``Setup`` (algorithm, tap and vector
    /// tables, packed weights, scratch size) is made here, once.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs.first ?? nil, x.elementType == .float32, let y = outputs.first ?? nil else { return nil }
        let ws: [Int], biasCount: Int?
        if let weights {
            (ws, biasCount) = (weights.shape, weights.bias?.count)
        } else {
            guard inputs.count > 1, let w = inputs[1], w.elementType == .float32 else { return nil }
            ws = w.shape
            biasCount = inputs.count > 2 ? inputs[2].map(\.elementCount) : nil
        }
        // The recorded run passed the same checks, so a failure here means shapes the plan cannot hold.
        guard let setup = try? Setup(self, x: x.shape, w: ws, biasCount: biasCount, node), setup.outShape == y.shape else { return nil }
        if residual {
            guard inputs.count > 3, let r = inputs[3], r.shape == setup.outShape, r.elementType == .float32 else { return nil }
        }
        return .compute(BoundConvKernel(setup))
    }
}

/// A Conv node of a ``ShapePlan``: runs its ``ConvKernel/Setup`` on the plan's pointers. The
/// im2col matrix, the GEMM's packed B and (for weights that are run inputs) the direct path's
/// packed weights live in the plan's scratch space; padded planes in ``ThreadScratch``.
final class BoundConvKernel: BoundKernel {
    let setup: ConvKernel.Setup
    let scratchBytes: Int

    init(_ setup: ConvKernel.Setup) {
        self.setup = setup
        scratchBytes = setup.scratchFloats * MemoryLayout<Float>.stride
    }

    /// W and B captured at load are not read from the plan.
    func readsInput(_ index: Int) -> Bool {
        setup.kernel.weights == nil || (index != 1 && index != 2)
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard setup.total > 0 else { return }
        let x: UnsafePointer<Float> = io.input(0), y: UnsafeMutablePointer<Float> = io.output(0)
        let residual: UnsafePointer<Float>? = setup.kernel.residual ? io.input(3) : nil
        let scratch = scratchBytes > 0 ? io.scratch(as: Float.self) : nil
        if let weights = setup.kernel.weights {
            weights.values.withUnsafeBufferPointer { w in
                ConvKernel.withOptionalPointer(weights.bias) { bias in
                    setup.run(x: x, w: w.baseAddress, bias: bias, residual: residual, y: y, scratch: scratch, pool: context.pool)
                }
            }
        } else {
            setup.run(x: x, w: io.input(1), bias: io.optionalInput(2), residual: residual, y: y, scratch: scratch, pool: context.pool)
        }
    }
}
