/// Folds shape computations whose answer is known at load even though the input shape is
/// partly symbolic: `Shape(x)[2]` of an `x` declared `[batch, seq, 16]` is the constant 16,
/// and so is a `Shape` with `start`/`end` selecting only fixed dimensions.
///
/// Constant folding then collapses the rest of the chain (Unsqueeze, Concat, Reshape targets).
struct ShapeSubgraphFolding: OptimizationPass {
    let name = "shape-subgraph-folding"

    func run(on graph: inout OptimizerGraph) throws(ModelLoadError) -> Bool {
        graph.rewriteRepeatedly { index, graph in
            guard let folded = fold(graph.nodes[index], graph), let slot = graph.nodes[index].outputs.first, slot >= 0 else { return false }
            graph.constants[slot] = folded
            graph.valueShapes[slot] = InferredShape(fixed: folded.shape)
            graph.remove([index])
            return true
        }
    }

    /// Fixed dimensions `range` of `slot`'s shape, or nil if any is symbolic.
    private func fixedDims(_ slot: Int, _ range: Range<Int>, _ graph: OptimizerGraph) -> [Int64]? {
        guard let shape = graph.shape(slot), range.upperBound <= shape.rank else { return nil }
        var dims: [Int64] = []
        for d in shape.dims[range] {
            guard let v = d.fixedValue else { return nil }
            dims.append(Int64(v))
        }
        return dims
    }

    private func fold(_ node: CompiledNode, _ graph: OptimizerGraph) -> Tensor? {
        guard case .kernel(let kernel) = node.operation, node.outputs.count == 1 else { return nil }
        if let shapeKernel = kernel as? ShapeKernel, let x = node.inputs.first, let rank = graph.shape(x)?.rank {
            let range = Swift.min(shapeKernel.start, rank)..<Swift.min(shapeKernel.end, rank)
            guard let dims = fixedDims(x, range, graph) else { return nil }
            return Tensor(shape: [dims.count], storage: .int64(dims))
        }
        // Gather(Shape(x), constant indices) with axis 0 picks dimensions of x.
        if let gather = kernel as? GatherKernel, gather.axis == 0, node.inputs.count == 2,
           let indices = graph.constant(node.inputs[1]), indices.elementType == .int64 || indices.elementType == .int32,
           let source = graph.producer(of: node.inputs[0]), case .kernel(let k) = source.node.operation,
           let shapeKernel = k as? ShapeKernel, let x = source.node.inputs.first, let rank = graph.shape(x)?.rank {
            let start = Swift.min(shapeKernel.start, rank), count = Swift.min(shapeKernel.end, rank) - start
            var picked: [Int64] = []
            for raw in indices.storage.int64Values {
                let i = raw < 0 ? Int(raw) + count : Int(raw)
                guard i >= 0, i < count, let d = fixedDims(x, (start + i)..<(start + i + 1), graph) else { return nil }
                picked.append(d[0])
            }
            return Tensor(shape: indices.shape, storage: .int64(picked))
        }
        // Slice(Shape(x), constant start, end[, axes 0][, step]) picks a run of x's dimensions
        // (`Shape(q)[-1:]`, the head size an exported attention scales by).
        if kernel is SliceKernel, node.inputs.count >= 3,
           let starts = graph.constant(node.inputs[1])?.storage.int64Values, let ends = graph.constant(node.inputs[2])?.storage.int64Values,
           starts.count == 1, ends.count == 1,
           let source = graph.producer(of: node.inputs[0]), case .kernel(let k) = source.node.operation,
           let shapeKernel = k as? ShapeKernel, let x = source.node.inputs.first, let rank = graph.shape(x)?.rank {
            if node.inputs.count > 3, node.inputs[3] >= 0 {
                guard let axes = graph.constant(node.inputs[3])?.storage.int64Values, axes == [0] || axes == [-1] else { return nil }
            }
            var step: Int64 = 1
            if node.inputs.count > 4, node.inputs[4] >= 0 {
                guard let steps = graph.constant(node.inputs[4])?.storage.int64Values, steps.count == 1, steps[0] != 0 else { return nil }
                step = steps[0]
            }
            let start = Swift.min(shapeKernel.start, rank), count = Swift.min(shapeKernel.end, rank) - start
            let (first, n) = SliceKernel.range(start: starts[0], end: ends[0], step: step, size: count)
            var picked: [Int64] = []
            for i in 0..<n {
                let dim = start + first + i * Int(step)
                guard let d = fixedDims(x, dim..<(dim + 1), graph) else { return nil }
                picked.append(d[0])
            }
            return Tensor(shape: [picked.count], storage: .int64(picked))
        }
        return nil
    }
}
