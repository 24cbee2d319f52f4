#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The execution plan of a ``CompiledGraph`` for one tuple of input shapes: every node's
/// kernel bound to those shapes (``BoundKernel``), every intermediate placed in one arena by
/// liveness (``ArenaLayout``), the values that depend only on the input shapes computed once,
/// and the last node of each output writing straight into the caller's output buffer.
///
/// Made by ``ShapePlanBuilder`` after the general executor has run the graph once with these
/// shapes; afterwards every run with the same shapes goes through ``run(_:into:context:)``,
/// which allocates nothing. Immutable and shared by concurrent runs, each on its own
/// ``PlanFrame``.
final class ShapePlan: @unchecked Sendable {
    /// Where a value slot lives during a run.
    enum Location: Equatable {
        case none
        /// At this byte offset in the frame's arena.
        case arena(Int)
        /// At this byte offset in ``constantRegion``.
        case constant(Int)
        /// The caller's input tensor with this index.
        case input(Int)
        /// The caller's output buffer with this index.
        case output(Int)
    }

    /// What the plan produces for one graph output.
    struct Output {
        var shape: [Int]
        var elementType: ElementType
        var byteCount: Int
        /// The slot whose bytes become the output; when it is not located in the output
        /// buffer itself (an input or constant passed through, or a value two outputs share),
        /// its bytes are copied there after the last node.
        var source: Int
        var direct: Bool
    }

    /// The input shapes this plan is for.
    let key: [[Int]]
    let steps: [PlanStep]
    /// Per value slot (aliases resolved to the slot whose memory they share).
    let locations: [Location]
    let arenaBytes: Int
    /// Constants the kernels read by address: initializers and shape-derived values, copied
    /// once into memory the plan owns.
    let constantRegion: UnsafeMutableRawPointer
    let constantBytes: Int
    let outputs: [Output]
    /// Per input index, the slots located at that input.
    private let inputSlots: [[Int]]
    /// Per output index, the slots located in that output buffer.
    private let outputSlots: [[Int]]

    private var mutex = pthread_mutex_t()
    private var idleFrames: [PlanFrame] = []
    /// Idle frames kept; more concurrent runs than this make (and later drop) their own.
    static let maxIdleFrames = 8

    init(key: [[Int]], steps: [PlanStep], locations: [Location], arenaBytes: Int,
         constants: [(offset: Int, tensor: Tensor)], constantBytes: Int, outputs: [Output]) {
        self.key = key
        self.steps = steps
        self.locations = locations
        self.arenaBytes = arenaBytes
        self.constantBytes = constantBytes
        self.outputs = outputs
        let region = UnsafeMutableRawPointer.allocate(byteCount: max(constantBytes, ArenaLayout.alignment), alignment: ArenaLayout.alignment)
        for (offset, tensor) in constants {
            tensor.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress, bytes.count > 0 { (region + offset).copyMemory(from: base, byteCount: bytes.count) }
            }
        }
        constantRegion = region
        var inputSlots = [[Int]](repeating: [], count: key.count)
        var outputSlots = [[Int]](repeating: [], count: outputs.count)
        for (slot, location) in locations.enumerated() {
            if case .input(let i) = location { inputSlots[i].append(slot) }
            if case .output(let j) = location { outputSlots[j].append(slot) }
        }
        self.inputSlots = inputSlots
        self.outputSlots = outputSlots
        idleFrames.reserveCapacity(Self.maxIdleFrames)
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        constantRegion.deallocate()
        pthread_mutex_destroy(&mutex)
    }

    /// Output tensors of the right shapes and types, their elements uninitialized.
    func makeOutputs() -> [Tensor] {
        outputs.map { Tensor(shape: $0.shape, storage: TensorStorage.uninitialized($0.elementType, count: ShapeMath.product($0.shape, 0..<$0.shape.count))) }
    }

    /// Whether `tensors` can receive this plan's outputs as they are (same count, shapes and types).
    func fitsOutputs(_ tensors: [Tensor]) -> Bool {
        guard tensors.count == outputs.count else { return false }
        for (t, o) in zip(tensors, outputs) where t.elementType != o.elementType || t.shape != o.shape { return false }
        return true
    }

    /// Runs the plan: `inputs` must match ``key`` and `outputs` must fit (``fitsOutputs(_:)``);
    /// their elements are overwritten in place.
    ///
    /// With `stepNanoseconds` (one entry per step), each step's wall time is added to its entry.
    func run(_ inputs: [Tensor], into outputs: inout [Tensor], context: ExecutionContext,
             stepNanoseconds: UnsafeMutablePointer<UInt64>? = nil) throws(InferenceError) {
        let frame = borrowFrame()
        defer { giveBack(frame) }
        var failure: InferenceError?
        withInputs(inputs, 0, frame) {
            withOutputs(&outputs, 0, frame) {
                do throws(InferenceError) {
                    try execute(frame, context, stepNanoseconds)
                } catch {
                    failure = error
                    return
                }
                copyIndirectOutputs(frame)
            }
        }
        if let failure { throw failure }
    }

    /// Runs every step; with `stepNanoseconds`, adds each step's monotonic-clock time to its entry.
    private func execute(_ frame: PlanFrame, _ context: ExecutionContext, _ stepNanoseconds: UnsafeMutablePointer<UInt64>?) throws(InferenceError) {
        let addresses = UnsafePointer(frame.addresses)
        var before = stepNanoseconds == nil ? 0 : SchedulerLock.now()
        for (index, step) in steps.enumerated() {
            let scratch = step.scratchOffset >= 0 ? frame.arena + step.scratchOffset : nil
            try step.kernel.execute(BoundIO(addresses: addresses, step: step, scratch: scratch), context)
            if let stepNanoseconds {
                let after = SchedulerLock.now()
                stepNanoseconds[index] += after - before
                before = after
            }
        }
    }

    /// Points the input slots at the caller's tensors, one nesting level per input.
    private func withInputs(_ inputs: [Tensor], _ i: Int, _ frame: PlanFrame, _ body: () -> Void) {
        guard i < inputs.count else { body(); return }
        inputs[i].withUnsafeBytes { bytes in
            let address = UnsafeMutableRawPointer(mutating: bytes.baseAddress) ?? frame.arena
            for slot in inputSlots[i] { frame.addresses[slot] = address }
            withInputs(inputs, i + 1, frame, body)
        }
    }

    /// Points the output slots at the caller's output buffers, one nesting level per output.
    private func withOutputs(_ outputs: inout [Tensor], _ j: Int, _ frame: PlanFrame, _ body: () -> Void) {
        guard j < outputs.count else { body(); return }
        // Moved out of the array for the call, so that it is the storage's only owner (no
        // copy on write) and the array stays free for the next level.
        var tensor = Tensor(shape: [], storage: .float32([]))
        swap(&tensor, &outputs[j])
        defer { swap(&tensor, &outputs[j]) }
        tensor.withUnsafeMutableBytes { bytes in
            let address = bytes.baseAddress ?? frame.arena
            frame.outputAddresses[j] = address
            for slot in outputSlots[j] { frame.addresses[slot] = address }
            withOutputs(&outputs, j + 1, frame, body)
        }
    }

    /// Copies the outputs that no node wrote in place (an input or constant passed through, or
    /// a value two outputs share).
    private func copyIndirectOutputs(_ frame: PlanFrame) {
        for (j, output) in outputs.enumerated() where !output.direct && output.byteCount > 0 {
            if let source = frame.addresses[output.source], let target = frame.outputAddresses[j] {
                target.copyMemory(from: source, byteCount: output.byteCount)
            }
        }
    }

    private func borrowFrame() -> PlanFrame {
        pthread_mutex_lock(&mutex)
        let frame = idleFrames.popLast()
        pthread_mutex_unlock(&mutex)
        return frame ?? PlanFrame(plan: self)
    }

    private func giveBack(_ frame: PlanFrame) {
        pthread_mutex_lock(&mutex)
        if idleFrames.count < Self.maxIdleFrames { idleFrames.append(frame) }
        pthread_mutex_unlock(&mutex)
    }
}
