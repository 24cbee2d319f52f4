/// One computing node of a ``ShapePlan``: its bound kernel, its slots and where its scratch
/// space sits in the arena.
final class PlanStep: Sendable {
    let kernel: any BoundKernel
    let inputs: [Int]
    let outputs: [Int]
    /// Byte offset of the scratch space in the arena, -1 for none.
    let scratchOffset: Int
    /// For error messages.
    let name: String
    let opType: String

    init(kernel: any BoundKernel, inputs: [Int], outputs: [Int], scratchOffset: Int, name: String, opType: String) {
        self.kernel = kernel
        self.inputs = inputs
        self.outputs = outputs
        self.scratchOffset = scratchOffset
        self.name = name
        self.opType = opType
    }
}
