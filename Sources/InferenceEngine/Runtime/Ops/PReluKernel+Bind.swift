extension PReluKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) -> KernelBinding? {
        guard let x = inputs[0], let slope = inputs[1], x.elementType == .float32, slope.elementType == .float32,
              Broadcast.shape(x.shape, slope.shape) == x.shape else { return nil }
        let spread = slope.shape == x.shape ? nil : StridedView(x.shape, strides: Generic.broadcastStrides(slope.shape, in: x.shape))
        return .compute(BoundPReluKernel(count: x.elementCount, spread: spread))
    }
}

/// PRelu bound to one plan's shapes: a broadcast slope is spread to X's shape in scratch
/// space first, the same way the general executor spreads it, so both run one loop.
final class BoundPReluKernel: BoundKernel {
    let count: Int
    let spread: StridedView?
    let scratchBytes: Int

    init(count: Int, spread: StridedView?) {
        self.count = count
        self.spread = spread
        scratchBytes = spread == nil ? 0 : count * MemoryLayout<Float>.stride
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard count > 0 else { return }
        var slope: UnsafePointer<Float> = io.input(1)
        if let spread {
            let scratch = io.scratch(as: Float.self)
            spread.copy(UnsafeRawPointer(slope), scratch, width: MemoryLayout<Float>.stride, pool: nil)
            slope = UnsafePointer(scratch)
        }
        PReluKernel.apply(io.input(0), slope, io.output(0), count: count)
    }
}
