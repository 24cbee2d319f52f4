extension ClipKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], x.elementType == .float32 || x.elementType == .int64 || x.elementType == .int32 else { return nil }
        // The bounds' values may change per request (they are read each run), their shapes may not.
        for i in 1..<min(inputs.count, 3) {
            if let bound = inputs[i], bound.elementCount != 1 || bound.elementType != x.elementType { return nil }
        }
        return .compute(BoundClipKernel(type: x.elementType, count: x.elementCount))
    }
}

/// Clip over one plan's element count; the bounds are read from their inputs every run.
final class BoundClipKernel: BoundKernel {
    let type: ElementType
    let count: Int

    init(type: ElementType, count: Int) {
        self.type = type
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard let y = io.optionalRawOutput(0), count > 0, let width = type.byteWidth else { return }
        let x = io.rawInput(0), lo = io.optionalRawInput(1), hi = io.optionalRawInput(2)
        IntraOpPool.forEachElementChunk(of: count, on: context.pool) { range in
            ClipKernel.compute(x + range.lowerBound * width, type, lo, hi, y + range.lowerBound * width, count: range.count)
        }
    }
}
