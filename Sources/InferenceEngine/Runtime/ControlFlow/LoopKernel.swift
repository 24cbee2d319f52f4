/// ONNX `Loop` (opsets 11-21): runs the body while the condition holds and fewer than `M`
/// iterations have run, threading the loop-carried values through and stacking each scan
/// output along a new first axis.
///
/// As in onnxruntime and the ONNX reference, the body's condition output is honoured whether
/// or not the node has a `cond` input. Iterations draw from an ``IterationBudget`` of
/// ``ONNXLimits/maxLoopIterations`` shared with the loops nested inside, and scan outputs are
/// capped at ``ONNXLimits/maxComputedElements``: the model decides when the loop ends, so
/// the bound is what keeps a request finite.
struct LoopKernel: NodeKernel {
    let body: CompiledGraph
    let carriedCount: Int
    let scanCount: Int
    /// Node-input indices of the outer-scope values the body captured.
    let captured: [Int]
    let scanTypes: [ElementType]
    /// Per-iteration shape of each scan output when no iteration runs: onnxruntime's choice,
    /// the inferred dimensions with those unknown at load taken as 0.
    let zeroIterationShapes: [[Int]]

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        try IterationBudget.withCurrent { budget throws(InferenceError) in try run(inputs, node, budget) }
    }

    private func run(_ inputs: [Tensor?], _ node: NodeExecutor, _ budget: IterationBudget) throws(InferenceError) -> [Tensor] {
        var tripCount: Int64? = nil
        if let m = inputs[0] { tripCount = try CompiledGraph.single(m, "the trip count M", of: node) }
        var condition = true
        if inputs.count > 1, let c = inputs[1] { condition = try CompiledGraph.single(c, "the condition", of: node) != 0 }
        var carried: [Tensor] = []
        for i in 0..<carriedCount { carried.append(try node.required(inputs, 2 + i)) }
        var outer: [Tensor] = []
        for i in captured { outer.append(try node.required(inputs, i)) }

        var scans = [[Tensor]](repeating: [], count: scanCount)
        var scanElements = 0
        var iteration: Int64 = 0
        while condition, tripCount.map({ iteration < $0 }) ?? true {
            guard budget.spend() else {
                throw node.invalid("the loop did not end within \(ONNXLimits.maxLoopIterations) iterations (the engine's limit, shared with the loops nested in it)")
            }
            let feeds = [Tensor(shape: [], storage: .int64([iteration])), Tensor(shape: [], storage: .bool([condition]))] + carried + outer
            let results = try body.run(asSubgraph: "body", of: node, feeds, outputCount: 1 + carriedCount + scanCount)
            condition = try CompiledGraph.single(results[0], "the body's condition output", of: node) != 0
            carried = Array(results[1..<(1 + carriedCount)])
            for k in 0..<scanCount {
                let element = results[1 + carriedCount + k]
                if let first = scans[k].first, first.shape != element.shape {
                    throw node.invalid("scan output #\(k) has shape \(element.shape.shapeDescription) in iteration \(iteration) but \(first.shape.shapeDescription) before; scan outputs must keep their shape")
                }
                scanElements += element.elementCount
                guard scanElements <= ONNXLimits.maxComputedElements else {
                    throw node.invalid("scan outputs exceed \(ONNXLimits.maxComputedElements) elements")
                }
                scans[k].append(element)
            }
            iteration += 1
        }
        var outputs = carried
        for k in 0..<scanCount {
            let shape = scans[k].first?.shape ?? zeroIterationShapes[k]
            outputs.append(AxisSlicing.stack(scans[k], axis: 0, elementShape: shape, type: scanTypes[k]))
        }
        return outputs
    }
}
