/// A validated, executable graph: values live in numbered slots, nodes are in topological
/// order, and each step lists the slots its node is the last reader of, so that `run` can
/// free intermediate buffers early.
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
    var hasShapeOnlyNodes: Bool
    /// Element type of every slot, as inferred at load (the optimizer matches on it).
    var valueTypes: [ElementType]
    /// Load-time shape of every slot.
    var valueShapes: [InferredShape]
    /// The nodes with their liveness decisions, as the executor runs them.
    var steps: [ExecutionStep]
    /// Element addresses of the float constants (see ``SharedBuffers``).
    var constantAddresses: Set<UInt>
    let shapeCache = ShapeValueCache()
    /// Buffer arenas lent to concurrent runs of the general executor.
    let arenas = ArenaPool()
    /// Execution plans by input shapes (see ``ShapePlan``).
    let plans = ShapePlanCache()

    /// The nodes in execution order.
    var nodes: [CompiledNode] { steps.map(\.node) }
    /// `shapeOnly[i]`: node `i` computes a value that depends only on the input shapes.
    var shapeOnly: [Bool] { steps.map(\.shapeOnly) }

    /// Builds the graph from its nodes, deriving what the executor needs: which node frees
    /// which slot (liveness), which nodes depend only on input shapes, and which constants are
    /// still read. The compiler and the optimizer both finish through here.
    static func assemble(valueCount: Int, constants: [(slot: Int, tensor: Tensor)], inputSlots: [Int], outputSlots: [Int],
                         nodes: [CompiledNode], valueTypes: [ElementType], valueShapes: [InferredShape]) -> CompiledGraph {
        // Liveness: free each non-output value after its last reader.
        var lastUse = [Int](repeating: -1, count: valueCount)
        for (i, node) in nodes.enumerated() {
            for s in node.inputs where s >= 0 { lastUse[s] = i }
        }
        let outputSet = Set(outputSlots)
        var releaseAfter = [[Int]](repeating: [], count: nodes.count)
        for (slot, last) in lastUse.enumerated() where last >= 0 && !outputSet.contains(slot) {
            releaseAfter[last].append(slot)
        }

        // A node is shape-only when it reads shapes (Shape, Size) or only constants and other
        // shape-only values; its results are cached per tuple of input shapes.
        let constantSlots = Set(constants.map(\.slot))
        var shapeOnlySlots = Set<Int>()
        var shapeOnly: [Bool] = []
        for node in nodes {
            let inputsShapeOnly = node.inputs.allSatisfy { $0 < 0 || shapeOnlySlots.contains($0) || constantSlots.contains($0) }
            let isShapeOnly = node.opType == "Shape" || node.opType == "Size" || inputsShapeOnly
            if isShapeOnly { for s in node.outputs where s >= 0 { shapeOnlySlots.insert(s) } }
            shapeOnly.append(isShapeOnly)
        }

        // Buffers the run owns outright go back to its arena at their last use: float values
        // computed per request (not constants, inputs or shape-only values, which are shared).
        let notOwned = constantSlots.union(inputSlots).union(shapeOnlySlots)
        let steps = nodes.indices.map { i in
            ExecutionStep(node: nodes[i], release: releaseAfter[i],
                          recycle: releaseAfter[i].filter { !notOwned.contains($0) && $0 < valueTypes.count && valueTypes[$0] == .float32 },
                          shapeOnly: shapeOnly[i])
        }

        // Constants nothing reads any more (inputs of folded subgraphs) are dropped.
        let used = Set(nodes.flatMap(\.inputs)).union(outputSlots)
        let kept = constants.filter { used.contains($0.slot) }
        return CompiledGraph(valueCount: valueCount, constants: kept,
                             inputSlots: inputSlots, outputSlots: outputSlots, hasShapeOnlyNodes: shapeOnly.contains(true),
                             valueTypes: valueTypes, valueShapes: valueShapes, steps: steps,
                             constantAddresses: Set(kept.map { SharedBuffers.address($0.tensor) }.filter { $0 != 0 }))
    }
}
