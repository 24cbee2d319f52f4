extension RecurrentKernel {
    /// LSTM, GRU and RNN bound to one plan's shapes: every shape check and the workspace
    /// layout (rearranged weights, projection, per-task states, sequence lengths, outputs
    /// nothing reads) are worked out once; a run reads the sequence lengths as data.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        func input(_ i: Int) -> PlanValue? { i < inputs.count ? inputs[i] : nil }
        func output(_ i: Int) -> PlanValue? { i < outputs.count ? outputs[i] : nil }
        for i in [0, 1, 2, 3, 5, 6, 7] where i == 0 || input(i) != nil {
            guard input(i)?.elementType == .float32 else { return nil }
        }
        if let lengths = input(4), lengths.elementType != .int32 && lengths.elementType != .int64 { return nil }
        // An output without elements is never written, so it needs no address.
        func keeps(_ i: Int) -> Bool { (output(i)?.elementCount ?? 0) > 0 }
        let used = (y: keeps(0), h: keeps(1), c: isLSTM && keeps(2))
        guard let geometry = try? geometry({ input($0)?.shape }, used: used, invalid: { .invalidInput($0) }) else {
            return nil
        }
        let present = (0..<8).map { (input($0)?.elementCount ?? 0) > 0 }
        return .compute(BoundRecurrentKernel(kernel: self, geometry: geometry, present: present,
                                             lengthsAreInt64: input(4)?.elementType == .int64, used: used))
    }
}

/// A ``RecurrentKernel`` bound to one plan's shapes. A run points ``RecurrentKernel/compute``
/// (the code the general executor runs too) at the plan's memory: weights captured at load are
/// not read from the plan, and rearranged weights, the projection, the states and outputs
/// nothing reads live in the node's scratch space.
final class BoundRecurrentKernel: BoundKernel, @unchecked Sendable {
    let kernel: RecurrentKernel
    /// Immutable after init; its plan's pointers are all nil (a run fills in a copy).
    let geometry: RecurrentKernel.Geometry
    /// Which of inputs 0...7 were given and have elements.
    let present: [Bool]
    let lengthsAreInt64: Bool
    let used: (y: Bool, h: Bool, c: Bool)
    let scratchBytes: Int

    init(kernel: RecurrentKernel, geometry: RecurrentKernel.Geometry, present: [Bool], lengthsAreInt64: Bool,
         used: (y: Bool, h: Bool, c: Bool)) {
        self.kernel = kernel
        self.geometry = geometry
        self.present = present
        self.lengthsAreInt64 = lengthsAreInt64
        self.used = used
        scratchBytes = geometry.workspaceFloats * MemoryLayout<Float>.stride
    }

    func readsInput(_ index: Int) -> Bool { kernel.packed == nil || !(1...3).contains(index) }

    func execute(_ io: BoundIO, _ context: ExecutionContext) throws(InferenceError) {
        func input(_ i: Int) -> UnsafePointer<Float>? { present[i] ? io.input(i, as: Float.self) : nil }
        var pointers = RecurrentKernel.RunPointers()
        pointers.x = input(0)
        if kernel.packed == nil { (pointers.w, pointers.r, pointers.b) = (input(1), input(2), input(3)) }
        if present[4] { pointers.lengths = UnsafeRawPointer(io.input(4, as: UInt8.self)) }
        pointers.lengthsAreInt64 = lengthsAreInt64
        (pointers.h0, pointers.c0, pointers.p) = (input(5), input(6), input(7))
        if used.y { pointers.y = io.output(0) }
        if used.h { pointers.lastH = io.output(1) }
        if used.c { pointers.lastC = io.output(2) }
        guard kernel.compute(geometry, pointers, workspace: io.scratch(as: Float.self), pool: context.pool) else {
            throw .invalidInput("node '\(io.step.name)' (\(io.step.opType)): " + RecurrentKernel.lengthsMessage(geometry.plan))
        }
    }
}
