/// A validated, executable graph: values live in numbered slots, nodes are in topological
/// order, and the slots each node is the last reader of are listed so that `run` can free
/// intermediate buffers early.
///
/// Immutable after load (a value type of `Sendable` parts), which is what makes concurrent
/// `run` calls safe without locks: each request works on its own slot array.
struct CompiledGraph: Sendable {
    var valueCount: Int
    /// Initializers and Constant outputs, by slot.
    var constants: [(slot: Int, tensor: Tensor)]
    /// Slots of the model inputs, in `Model.inputs` order.
    var inputSlots: [Int]
    /// Slots of the model outputs, in `Model.outputs` order.
    var outputSlots: [Int]
    var nodes: [CompiledNode]
    /// `releaseAfter[i]`: slots no longer needed once node `i` has run.
    var releaseAfter: [[Int]]
    /// `shapeOnly[i]`: node `i` computes a value that depends only on the input shapes.
    var shapeOnly: [Bool]
    var hasShapeOnlyNodes: Bool
    let shapeCache = ShapeValueCache()
}
