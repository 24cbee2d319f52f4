extension IdentityKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0] else { return nil }
        // Identity, inference Dropout and no-op reductions share the input's bytes, unless the
        // Dropout mask is read too (an alias gives only output 0).
        if !mask || outputs.count < 2 || outputs[1] == nil { return .alias }
        return .compute(BoundDropoutKernel(bytes: x.byteCount, count: x.elementCount))
    }
}

/// Inference Dropout whose mask output is read: the input copied and an all-true mask.
final class BoundDropoutKernel: BoundKernel {
    let bytes: Int, count: Int

    init(bytes: Int, count: Int) {
        self.bytes = bytes
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        if let y = io.optionalRawOutput(0), bytes > 0 { y.copyMemory(from: io.rawInput(0), byteCount: bytes) }
        if let mask = io.optionalRawOutput(1), count > 0 { mask.initializeMemory(as: Bool.self, repeating: true, count: count) }
    }
}
