/// Addresses of float buffers a run shares with others (constants, the caller's inputs,
/// shape-cached values), which it must never recycle into its arena: the arena would then
/// co-own memory that other threads read and free, and reuse would depend on reference-count
/// timing across threads instead of on this run alone.
struct SharedBuffers {
    /// Constant buffers, fixed for the graph's lifetime.
    let constants: Set<UInt>
    private var extra: [UInt] = []

    init(constants: Set<UInt>) { self.constants = constants }

    /// The address of a float tensor's elements (0 for other types and empty tensors).
    static func address(_ tensor: Tensor) -> UInt {
        guard case .float32(let values) = tensor.storage else { return 0 }
        return values.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    mutating func insert(_ tensor: Tensor) {
        let a = Self.address(tensor)
        if a != 0 { extra.append(a) }
    }

    func contains(_ tensor: Tensor) -> Bool {
        let a = Self.address(tensor)
        return a == 0 || constants.contains(a) || extra.contains(a)
    }
}
