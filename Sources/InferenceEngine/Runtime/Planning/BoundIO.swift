/// The memory one node reads and writes in one planned run: the run's address of every value
/// slot, the node's slots and its scratch space.
///
/// A value type of two pointers and a reference, built per node per run without allocating.
struct BoundIO {
    /// Address of each value slot's first element in this run (nil for a value the run does not hold).
    let addresses: UnsafePointer<UnsafeMutableRawPointer?>
    let step: PlanStep
    /// ``BoundKernel/scratchBytes`` bytes, 64-byte aligned (nil when the kernel asked for none).
    let scratch: UnsafeMutableRawPointer?

    /// Whether optional input `index` was given.
    @inline(__always)
    func hasInput(_ index: Int) -> Bool {
        index < step.inputs.count && step.inputs[index] >= 0
    }

    /// Input `index`'s elements. Precondition: the input exists (checked when bound).
    @inline(__always)
    func input<T>(_ index: Int, as type: T.Type = T.self) -> UnsafePointer<T> {
        UnsafePointer(addresses[step.inputs[index]]!.assumingMemoryBound(to: T.self))
    }

    /// Input `index`'s elements, or nil when the optional input was omitted.
    @inline(__always)
    func optionalInput<T>(_ index: Int, as type: T.Type = T.self) -> UnsafePointer<T>? {
        guard hasInput(index) else { return nil }
        return input(index, as: type)
    }

    /// Output `index`'s elements. Precondition: the output is used (the slot is not -1).
    @inline(__always)
    func output<T>(_ index: Int, as type: T.Type = T.self) -> UnsafeMutablePointer<T> {
        addresses[step.outputs[index]]!.assumingMemoryBound(to: T.self)
    }

    /// Output `index`'s elements, or nil when nothing reads that output.
    @inline(__always)
    func optionalOutput<T>(_ index: Int, as type: T.Type = T.self) -> UnsafeMutablePointer<T>? {
        guard index < step.outputs.count, step.outputs[index] >= 0 else { return nil }
        return output(index, as: type)
    }

    /// The scratch space as `T` elements.
    @inline(__always)
    func scratch<T>(as type: T.Type) -> UnsafeMutablePointer<T> {
        scratch!.assumingMemoryBound(to: T.self)
    }
}
