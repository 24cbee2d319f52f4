/// A node whose outputs are fixed by the plan's shapes and constants (Shape, Size, Range,
/// ConstantOfShape, EyeLike when they are not already folded as shape-only values): computed
/// once at bind, copied on each run.
final class BoundConstantKernel: BoundKernel {
    let values: [Tensor]

    init(values: [Tensor]) { self.values = values }

    /// Binds a node by running its general kernel once on the plan's constant inputs; nil
    /// when an input it reads is not constant.
    static func binding(_ kernel: some NodeKernel, _ inputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        var tensors: [Tensor?] = []
        for input in inputs {
            guard let input else { tensors.append(nil); continue }
            guard let constant = input.constant else { return nil }
            tensors.append(constant)
        }
        return .compute(BoundConstantKernel(values: try kernel.run(tensors, node)))
    }

    func readsInput(_ index: Int) -> Bool { false }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        for (j, value) in values.enumerated() {
            guard let target = io.optionalOutput(j, as: UInt8.self) else { continue }
            value.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress, bytes.count > 0 { UnsafeMutableRawPointer(target).copyMemory(from: base, byteCount: bytes.count) }
            }
        }
    }
}
