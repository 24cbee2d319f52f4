/// Runs chains of Conv, pooling and global reductions in the channel-blocked layout
/// (``ChannelBlocks``, onnxruntime's NCHWc transformation), so that small CNNs stop paying for
/// layout on every node.
///
/// A region starts at a Conv with load-time weights (group 1, or grouped over at most
/// ``denseGroupedChannelLimit`` channels, run dense): it reads NCHW and writes blocked, and
/// joins only when something after it can take the blocked result. Depthwise Convs, MaxPool
/// (without indices) and AveragePool join when their input is blocked; GlobalAveragePool,
/// GlobalMaxPool and ReduceMean/ReduceMax over every spatial axis join the same way and end
/// the region, writing the plain result directly. A fused residual must already be blocked.
///
/// Each converted node keeps its original output slot, now written by a
/// ``BlockedReorderKernel`` from the new blocked slot, so readers outside the region and graph
/// outputs see NCHW unchanged; reorders nothing reads are removed by dead-node elimination.
struct ChannelBlocking: OptimizationPass {
    let name = "channel-blocking"

    /// Largest channel count a grouped Conv is run dense for: its lanes then compute zeros for
    /// the other groups' channels (a factor `group` more multiply-adds), which for a few
    /// channels still beats the plain layout's transposes.
    static let denseGroupedChannelLimit = 64

    /// What a node becomes in the blocked layout.
    enum Conversion {
        case conv(ConvKernel, channels: Int, depthwise: Bool)
        case pool(PoolKernel)
        case global(isMax: Bool, trailingOnes: Int)

        /// Whether the node only joins with a blocked input.
        var needsBlockedInput: Bool {
            if case .conv(_, _, let depthwise) = self { return depthwise }
            return true
        }
    }

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        // Blocked twin of each converted value (also from earlier rounds), and its channel count.
        var twin: [Int: (slot: Int, channels: Int)] = [:]
        for node in graph.nodes {
            if case .kernel(let k as BlockedReorderKernel) = node.operation { twin[node.outputs[0]] = (node.inputs[0], k.channels) }
        }
        var rewritten: [CompiledNode] = []
        var changed = false
        for node in graph.nodes {
            guard let conversion = Self.conversion(of: node, graph), let x = node.inputs.first else {
                rewritten.append(node)
                continue
            }
            let input = twin[x]
            let joins: Bool
            if conversion.needsBlockedInput {
                joins = input != nil
            } else {
                joins = input != nil || graph.readers(of: node.outputs[0]).contains { Self.conversion(of: graph.nodes[$0], graph) != nil }
            }
            guard joins else {
                rewritten.append(node)
                continue
            }
            switch conversion {
            case .conv(let conv, let channels, _):
                var inputs = [input?.slot ?? x]
                if conv.residual {
                    guard node.inputs.count > 3, let residual = twin[node.inputs[3]] else {
                        rewritten.append(node)
                        continue
                    }
                    inputs += [-1, -1, residual.slot]
                }
                let m = conv.weights!.shape[0]
                guard let blocked = Self.blockedValue(of: node.outputs[0], channels: m, &graph) else {
                    rewritten.append(node)
                    continue
                }
                let kernel = BlockedConvKernel(conv: conv, inputBlocked: input != nil, channels: channels)
                rewritten.append(graph.node(named: node.name, opType: "BlockedConv", operation: .kernel(kernel), inputs: inputs,
                                            outputs: [blocked]))
                rewritten.append(Self.reorder(blocked, to: node.outputs[0], channels: m, after: node, graph))
                twin[node.outputs[0]] = (blocked, m)
            case .pool(let pool):
                guard let input, let blocked = Self.blockedValue(of: node.outputs[0], channels: input.channels, &graph) else {
                    rewritten.append(node)
                    continue
                }
                rewritten.append(graph.node(named: node.name, opType: "Blocked" + node.opType, operation: .kernel(BlockedPoolKernel(pool: pool)),
                                            inputs: [input.slot], outputs: [blocked]))
                rewritten.append(Self.reorder(blocked, to: node.outputs[0], channels: input.channels, after: node, graph))
                twin[node.outputs[0]] = (blocked, input.channels)
            case .global(let isMax, let trailingOnes):
                guard let input else { rewritten.append(node); continue }
                let kernel = BlockedGlobalPoolKernel(isMax: isMax, channels: input.channels, trailingOnes: trailingOnes)
                rewritten.append(graph.node(named: node.name, opType: "Blocked" + node.opType, operation: .kernel(kernel),
                                            inputs: [input.slot], outputs: node.outputs))
            }
            changed = true
        }
        guard changed else { return false }
        graph.nodes = rewritten
        graph.reindex()
        return true
    }

    /// The blocked form of `node`, if it has one (whatever its input's layout).
    static func conversion(of node: CompiledNode, _ graph: OptimizerGraph) -> Conversion? {
        guard node.outputs.count == 1, let x = node.inputs.first, graph.type(x) == .float32, let xs = graph.shape(x),
              xs.rank == 3 || xs.rank == 4, let channels = xs.dims[1].fixedValue, channels > 0 else { return nil }
        switch node.operation {
        case .kernel(let conv as ConvKernel) where node.opType == "Conv" || node.opType == "FusedConv":
            guard let weights = conv.weights, xs.rank == conv.window.spatialRank + 2, weights.shape.count == xs.rank,
                  weights.shape[1] * conv.group == channels else { return nil }
            let depthwise = conv.group == channels && weights.shape[0] == channels && weights.shape[1] == 1
            guard depthwise || conv.group == 1 || channels <= denseGroupedChannelLimit else { return nil }
            return .conv(conv, channels: channels, depthwise: depthwise)
        case .kernel(let pool as PoolKernel):
            guard !pool.indices, xs.rank == pool.window.spatialRank + 2 else { return nil }
            return .pool(pool)
        case .kernel(let global as GlobalPoolKernel):
            return .global(isMax: global.isMax, trailingOnes: xs.rank - 2)
        case .kernel(let reduce as ReduceKernel) where reduce.op == .mean || reduce.op == .max:
            let spatial = Array(2..<xs.rank)
            guard let axes = reduce.axes, axes.map({ $0 < 0 ? $0 + xs.rank : $0 }).sorted() == spatial else { return nil }
            return .global(isMax: reduce.op == .max, trailingOnes: reduce.keepDims ? spatial.count : 0)
        default:
            return nil
        }
    }

    /// A new slot for the blocked form of `slot` (`[N, C, S...]` → `[N, ⌈C/8⌉, S..., 8]`).
    static func blockedValue(of slot: Int, channels: Int, _ graph: inout OptimizerGraph) -> Int? {
        guard let shape = graph.shape(slot), shape.rank == 3 || shape.rank == 4, shape.dims[1].fixedValue == channels else { return nil }
        let dims = [shape.dims[0], .fixed(ChannelBlocks.count(channels))] + Array(shape.dims[2...]) + [.fixed(ChannelBlocks.width)]
        return graph.addValue(type: .float32, shape: InferredShape(dims))
    }

    /// The node that keeps `slot` (plain layout) available from its blocked twin.
    static func reorder(_ blocked: Int, to slot: Int, channels: Int, after node: CompiledNode, _ graph: OptimizerGraph) -> CompiledNode {
        graph.node(named: node.name + " (to NCHW)", opType: "ReorderFromBlocked", operation: .kernel(BlockedReorderKernel(channels: channels)),
                   inputs: [blocked], outputs: [slot])
    }
}
