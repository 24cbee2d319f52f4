extension BlockedGlobalPoolKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs.first ?? nil, x.elementType == .float32, let (outShape, pixels) = try? shapes(x.shape, node),
              outputs.first??.shape == outShape else { return nil }
        return .compute(BoundBlockedGlobalPoolKernel(kernel: self, images: x.shape[0], pixels: pixels))
    }
}

/// A blocked global pool node of a ``ShapePlan``, its image and pixel counts fixed.
final class BoundBlockedGlobalPoolKernel: BoundKernel {
    let kernel: BlockedGlobalPoolKernel
    let images: Int, pixels: Int

    init(kernel: BlockedGlobalPoolKernel, images: Int, pixels: Int) {
        self.kernel = kernel
        self.images = images
        self.pixels = pixels
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard images > 0 else { return }
        kernel.pool(io.input(0), images: images, pixels: pixels, into: io.output(0))
    }
}
