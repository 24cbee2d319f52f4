/// The mutable form of a ``CompiledGraph`` that optimization passes rewrite.
///
/// Nodes stay in topological order. A pass replaces a matched group of nodes with one new
/// node placed where the group's last node was: every value the group reads from outside is
/// produced before that position, and every reader of the group's outputs comes after it, so
/// the order stays valid without a re-sort.
struct OptimizerGraph {
    var nodes: [CompiledNode]
    var constants: [Int: Tensor]
    var inputSlots: [Int]
    var outputSlots: [Int]
    var valueTypes: [ElementType]
    var valueShapes: [InferredShape]

    /// slot → index of the node producing it.
    private(set) var producers: [Int: Int] = [:]
    /// slot → indices of the nodes reading it (once per reading node).
    private(set) var consumers: [Int: [Int]] = [:]
    private(set) var outputSet: Set<Int> = []

    init(_ graph: CompiledGraph) {
        nodes = graph.nodes
        constants = Dictionary(graph.constants.map { ($0.slot, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        inputSlots = graph.inputSlots
        outputSlots = graph.outputSlots
        valueTypes = graph.valueTypes
        valueShapes = graph.valueShapes
        reindex()
    }

    var valueCount: Int { valueTypes.count }

    /// Rebuilds the producer/consumer maps; passes call it after rewriting.
    mutating func reindex() {
        producers = [:]
        consumers = [:]
        outputSet = Set(outputSlots)
        for (i, node) in nodes.enumerated() {
            for s in node.outputs where s >= 0 { producers[s] = i }
            var seen = Set<Int>()
            for s in node.inputs where s >= 0 && seen.insert(s).inserted { consumers[s, default: []].append(i) }
        }
    }

    func finished() -> CompiledGraph {
        CompiledGraph.assemble(valueCount: valueCount, constants: constants.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                               inputSlots: inputSlots, outputSlots: outputSlots, nodes: nodes,
                               valueTypes: valueTypes, valueShapes: valueShapes)
    }

    // MARK: Queries

    func producer(of slot: Int) -> (index: Int, node: CompiledNode)? {
        guard slot >= 0, let i = producers[slot] else { return nil }
        return (i, nodes[i])
    }

    func readers(of slot: Int) -> [Int] { consumers[slot] ?? [] }

    func isGraphOutput(_ slot: Int) -> Bool { outputSet.contains(slot) }

    /// The only node reading `slot`, when the value is not also a graph output: the condition
    /// for folding the producer of `slot` into that node.
    func soleReader(of slot: Int) -> Int? {
        guard !isGraphOutput(slot), let r = consumers[slot], r.count == 1 else { return nil }
        return r[0]
    }

    /// True when nothing outside `group` reads `slot` and it is not a graph output.
    func isInternal(_ slot: Int, to group: Set<Int>) -> Bool {
        !isGraphOutput(slot) && readers(of: slot).allSatisfy(group.contains)
    }

    func constant(_ slot: Int) -> Tensor? { slot >= 0 ? constants[slot] : nil }

    /// The value of a one-element float32 constant (a scalar or a `[1]`-shaped tensor).
    func scalarConstant(_ slot: Int) -> Float? {
        guard let t = constant(slot), t.elementCount == 1, let v = t.floats else { return nil }
        return v[0]
    }

    func type(_ slot: Int) -> ElementType? { slot >= 0 && slot < valueTypes.count ? valueTypes[slot] : nil }

    func shape(_ slot: Int) -> InferredShape? { slot >= 0 && slot < valueShapes.count ? valueShapes[slot] : nil }

    /// The node producing `slot` if its operator is `opType`.
    func producer(of slot: Int, opType: String) -> (index: Int, node: CompiledNode)? {
        guard let p = producer(of: slot), p.node.opType == opType else { return nil }
        return p
    }

    // MARK: Rewriting

    /// Offers every node index to `attempt` in order; when it rewrites the graph (returns
    /// true) the scan starts again from the first node, because a rewrite shifts indices and
    /// may enable a match earlier in the graph. Returns whether anything changed.
    mutating func rewriteRepeatedly<Failure: Error>(
        _ attempt: (Int, inout OptimizerGraph) throws(Failure) -> Bool
    ) throws(Failure) -> Bool {
        var changed = false
        var index = 0
        while index < nodes.count {
            if try attempt(index, &self) {
                changed = true
                index = 0
            } else {
                index += 1
            }
        }
        return changed
    }

    /// A new value slot with the given load-time facts.
    mutating func addValue(type: ElementType, shape: InferredShape) -> Int {
        valueTypes.append(type)
        valueShapes.append(shape)
        return valueTypes.count - 1
    }

    mutating func addConstant(_ tensor: Tensor) -> Int {
        let slot = addValue(type: tensor.elementType, shape: InferredShape(fixed: tensor.shape))
        constants[slot] = tensor
        return slot
    }

    /// Replaces the nodes at `indices` with `node`, which takes the position of the last of
    /// them. The caller guarantees that the group's outputs other than `node.outputs` are
    /// read by nobody outside the group.
    mutating func replace(_ indices: Set<Int>, with node: CompiledNode) {
        guard let last = indices.max() else { return }
        var rewritten: [CompiledNode] = []
        rewritten.reserveCapacity(nodes.count - indices.count + 1)
        for (i, n) in nodes.enumerated() {
            if i == last { rewritten.append(node) } else if !indices.contains(i) { rewritten.append(n) }
        }
        nodes = rewritten
        reindex()
    }

    /// Removes the nodes at `indices` (their outputs must be unread).
    mutating func remove(_ indices: Set<Int>) {
        nodes = nodes.enumerated().filter { !indices.contains($0.offset) }.map(\.element)
        reindex()
    }

    /// Makes every reader of `old` (and the graph outputs) read `new` instead.
    mutating func redirect(_ old: Int, to new: Int) {
        for i in nodes.indices {
            nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 }
        }
        outputSlots = outputSlots.map { $0 == old ? new : $0 }
        reindex()
    }

    /// Name for a node that replaces `parts`: the fused operators and the first node's name,
    /// so `model inspect --optimized` shows where it came from.
    func fusedName(_ parts: [Int]) -> String {
        let sorted = parts.sorted()
        let first = sorted.first.map { nodes[$0].name } ?? "?"
        return first + " (" + sorted.map { nodes[$0].opType }.joined(separator: "+") + ")"
    }
}
