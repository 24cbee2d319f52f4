/// ONNX `Scan` (opset 9+ semantics, opsets 11-21 here): runs the body once per position along
/// each scan input's axis (forward or reverse per input), threading the state values through
/// and stacking each scan output along its axis (appended, or prepended for direction 1).
/// Steps draw from the same ``IterationBudget`` as Loop iterations.
struct ScanKernel: NodeKernel {
    let body: CompiledGraph
    let stateCount: Int
    let inputAxes: [Int]
    let inputReversed: [Bool]
    let outputAxes: [Int]
    let outputReversed: [Bool]
    /// Node-input indices of the outer-scope values the body captured.
    let captured: [Int]
    let scanTypes: [ElementType]
    /// Per-iteration shape of each scan output for a zero-length sequence (unknowns as 0).
    let zeroIterationShapes: [[Int]]

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        try IterationBudget.withCurrent { budget throws(InferenceError) in try run(inputs, node, budget) }
    }

    private func run(_ inputs: [Tensor?], _ node: NodeExecutor, _ budget: IterationBudget) throws(InferenceError) -> [Tensor] {
        var states: [Tensor] = []
        for i in 0..<stateCount { states.append(try node.required(inputs, i)) }
        var scanInputs: [Tensor] = []
        for j in 0..<inputAxes.count { scanInputs.append(try node.required(inputs, stateCount + j)) }
        var outer: [Tensor] = []
        for i in captured { outer.append(try node.required(inputs, i)) }

        var length = -1
        for (j, x) in scanInputs.enumerated() {
            guard inputAxes[j] < x.shape.count else {
                throw node.invalid("scan input #\(j) of shape \(x.shape.shapeDescription) has no axis \(inputAxes[j])")
            }
            let n = x.shape[inputAxes[j]]
            guard length < 0 || n == length else {
                throw node.invalid("scan inputs have different sequence lengths (\(length) and \(n))")
            }
            length = n
        }
        guard length <= budget.remaining else {
            throw node.invalid("sequence length \(length) exceeds the \(budget.remaining) iterations left of the engine's limit of \(ONNXLimits.maxLoopIterations) (shared with enclosing loops)")
        }

        let scanCount = outputAxes.count
        var scans = [[Tensor]](repeating: [], count: scanCount)
        var scanElements = 0
        for t in 0..<length {
            guard budget.spend() else {
                throw node.invalid("the scan did not end within \(ONNXLimits.maxLoopIterations) iterations (the engine's limit, shared with the loops around and inside it)")
            }
            var feeds = states
            for (j, x) in scanInputs.enumerated() {
                feeds.append(AxisSlicing.slice(x, axis: inputAxes[j], index: inputReversed[j] ? length - 1 - t : t))
            }
            let results = try body.run(asSubgraph: "body", of: node, feeds + outer, outputCount: stateCount + scanCount)
            states = Array(results[0..<stateCount])
            for k in 0..<scanCount {
                let element = results[stateCount + k]
                if let first = scans[k].first, first.shape != element.shape {
                    throw node.invalid("scan output #\(k) has shape \(element.shape.shapeDescription) at step \(t) but \(first.shape.shapeDescription) before; scan outputs must keep their shape")
                }
                scanElements += element.elementCount
                guard scanElements <= ONNXLimits.maxComputedElements else {
                    throw node.invalid("scan outputs exceed \(ONNXLimits.maxComputedElements) elements")
                }
                scans[k].append(element)
            }
        }
        var outputs = states
        for k in 0..<scanCount {
            let shape = scans[k].first?.shape ?? zeroIterationShapes[k]
            let parts = outputReversed[k] ? scans[k].reversed() : scans[k]
            outputs.append(AxisSlicing.stack(parts, axis: outputAxes[k], elementShape: shape, type: scanTypes[k]))
        }
        return outputs
    }
}
