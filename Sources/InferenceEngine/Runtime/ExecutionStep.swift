/// One node as the executor runs it: the node plus what liveness decided for it, in a class so
/// that handing a step to its kernel costs one reference instead of a copy of every field of
/// ``CompiledNode`` (names, slot lists, the operation) per node per request.
final class ExecutionStep: Sendable {
    let node: CompiledNode
    /// The node's input and output slots, kept beside it so that the executor's loop reads
    /// them without copying the node.
    let inputs: [Int]
    let outputs: [Int]
    /// Slots no longer needed once this node has run.
    let release: [Int]
    /// Of ``release``: the float32 slots whose buffers go back to the run's ``TensorArena``
    /// (not constants or model inputs, whose storage the run does not own).
    let recycle: [Int]
    /// The node depends only on input shapes (its results are cached per shape).
    let shapeOnly: Bool

    init(node: CompiledNode, release: [Int] = [], recycle: [Int] = [], shapeOnly: Bool = false) {
        self.node = node
        self.inputs = node.inputs
        self.outputs = node.outputs
        self.release = release
        self.recycle = recycle
        self.shapeOnly = shapeOnly
    }
}
