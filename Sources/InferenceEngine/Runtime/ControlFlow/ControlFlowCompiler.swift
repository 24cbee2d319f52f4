/// Load-time compilation of `If`, `Loop` and `Scan`: checks the node and its GRAPH attributes,
/// compiles each subgraph with access to the enclosing graphs' values, infers the node's
/// output shapes and builds the kernel.
///
/// Loop-carried and Scan state values may change shape from one iteration to the next, so the
/// body is first compiled with the initial shapes and, while an iteration would return a
/// different shape, compiled again with the differing dimensions widened to unknown. The
/// result is sound for every iteration: shapes the body provably keeps stay exact (and with
/// them the load-time folding of `Shape` nodes), others become unknown.
///
/// A loop-carried value the body returns unchanged (its output *is* its input) keeps the facts
/// of its initial value, constants included: exporters thread weights through loops that way
/// (tf2onnx's Keras GRU), and as constants they are folded and pre-packed once at load.
struct ControlFlowCompiler {
    /// The default-domain operators compiled here rather than by ``OperatorCompiler``.
    static let operators: Set<String> = ["If", "Loop", "Scan"]

    static func handles(_ node: NodeProtoIR) -> Bool {
        (node.domain.isEmpty || node.domain == "ai.onnx") && operators.contains(node.opType)
    }

    struct Output {
        var operation: Operation
        var shapes: [InferredShape]
        var types: [ElementType]
        /// Outer-scope values the subgraphs read, to be appended to the node's inputs.
        var captured: [String]
    }

    let operatorCompiler: OperatorCompiler
    /// The compiler of the graph the node belongs to (opset, model directory, scope).
    let context: GraphCompiler
    /// Resolves a name in the node's graph (and beyond), as its subgraphs see it.
    let outer: (String) -> ValueFacts?

    var node: NodeProtoIR { operatorCompiler.node }
    var label: String { operatorCompiler.label }

    func fail(_ message: String) -> ModelLoadError { operatorCompiler.fail(message) }

    func compile() throws(ModelLoadError) -> Output {
        switch node.opType {
        case "If": try compileIf()
        case "Loop": try compileLoop()
        default: try compileScan()
        }
    }

    // MARK: If

    func compileIf() throws(ModelLoadError) -> Output {
        try operatorCompiler.checkArity(1, 1, outputs: 1...ONNXLimits.maxNodeArity)
        let condition = try operatorCompiler.input(0, [.bool])
        try requireSingleElement(condition, "the condition")
        let attrs = try operatorCompiler.attributes(["then_branch", "else_branch"])
        let thenGraph = try graph(attrs, "then_branch"), elseGraph = try graph(attrs, "else_branch")
        let thenBranch = try compileSubgraph("then_branch", thenGraph, inputs: [])
        let elseBranch = try compileSubgraph("else_branch", elseGraph, inputs: [])
        let count = node.outputs.count
        guard thenBranch.outputFacts.count == count, elseBranch.outputFacts.count == count else {
            throw fail("then_branch returns \(thenBranch.outputFacts.count) values and else_branch \(elseBranch.outputFacts.count), but the node has \(count) outputs")
        }
        // A constant condition decides at load which branch's shapes the outputs have.
        let constantCondition = condition.constant.map { $0.storage.int64Values.first != 0 }
        var shapes: [InferredShape] = [], types: [ElementType] = []
        for i in 0..<count {
            let t = thenBranch.outputFacts[i], e = elseBranch.outputFacts[i]
            guard t.type == e.type else {
                throw fail("output #\(i) is \(t.type.onnxName) in then_branch but \(e.type.onnxName) in else_branch")
            }
            if let constantCondition {
                shapes.append(constantCondition ? t.shape : e.shape)
            } else {
                guard let merged = Self.merge(t.shape, e.shape) else {
                    throw fail("output #\(i) has rank \(t.shape.rank) in then_branch but \(e.shape.rank) in else_branch; outputs whose rank depends on the condition are not supported")
                }
                shapes.append(merged)
            }
            types.append(t.type)
        }
        let captured = Self.union(thenBranch.capturedNames, elseBranch.capturedNames)
        let kernel = IfKernel(thenBranch: thenBranch.compiled, elseBranch: elseBranch.compiled,
                              thenCaptured: capturedIndices(thenBranch.capturedNames, in: captured),
                              elseCaptured: capturedIndices(elseBranch.capturedNames, in: captured),
                              outputCount: count)
        return Output(operation: .kernel(kernel), shapes: shapes, types: types, captured: captured)
    }

    // MARK: Loop

    func compileLoop() throws(ModelLoadError) -> Output {
        guard node.inputs.count >= 2 else {
            throw fail("expects the inputs M, cond and the loop-carried values (M and cond may be empty), got \(node.inputs.count)")
        }
        let tripCount = try operatorCompiler.optionalInput(0, [.int64])
        let condition = try operatorCompiler.optionalInput(1, [.bool])
        if let tripCount { try requireSingleElement(tripCount, "the trip count M") }
        if let condition { try requireSingleElement(condition, "the condition") }
        let carriedCount = node.inputs.count - 2
        var initial: [ValueFacts] = []
        for i in 0..<carriedCount {
            guard let f = inputs(2 + i) else { throw fail("loop-carried input #\(i) is empty") }
            initial.append(f)
        }
        let attrs = try operatorCompiler.attributes(["body"])
        let body = try graph(attrs, "body")
        guard body.inputs.count == 2 + carriedCount else {
            throw fail("the body declares \(body.inputs.count) inputs; the node binds \(2 + carriedCount) (iteration number, condition and \(carriedCount) loop-carried values)")
        }
        guard body.outputs.count >= 1 + carriedCount else {
            throw fail("the body declares \(body.outputs.count) outputs; it must return the condition and \(carriedCount) loop-carried values")
        }
        let scanCount = body.outputs.count - 1 - carriedCount
        guard node.outputs.count == carriedCount + scanCount else {
            throw fail("the node has \(node.outputs.count) outputs; the body gives \(carriedCount) loop-carried values and \(scanCount) scan outputs")
        }
        let scalar = InferredShape(fixed: [])
        let fixedInputs = [ValueFacts(shape: scalar, type: .int64, constant: nil), ValueFacts(shape: scalar, type: .bool, constant: nil)]
        let invariant = (0..<carriedCount).map { body.outputs[1 + $0].name == body.inputs[2 + $0].name }
        let result = try compileIterated(body, fixedInputs: fixedInputs, initial: initial, invariant: invariant, outputOffset: 1)
        guard result.outputFacts[0].type == .bool else {
            throw fail("the body's condition output is \(result.outputFacts[0].type.onnxName); it must be BOOL")
        }

        // When nothing but M can end the loop, M is checked now rather than at the limit.
        let conditionStartsTrue = condition.map { $0.constant?.storage.int64Values.first.map { $0 != 0 } == true } ?? true
        let bodyCondition = result.outputFacts[0].constant?.storage.int64Values.first.map { $0 != 0 }
        let bodyKeepsCondition = body.outputs[0].name == body.inputs[1].name
        let runsEveryTrip = conditionStartsTrue && (bodyCondition ?? bodyKeepsCondition)
        let constantTrips = tripCount?.constant?.storage.int64Values.first
        if runsEveryTrip {
            guard let constantTrips else {
                if tripCount == nil { throw fail("the loop never ends: it has no trip count M and its condition is always true") }
                return try loopOutput(result, carriedCount: carriedCount, scanCount: scanCount, lead: .unknown)
            }
            guard constantTrips <= Int64(ONNXLimits.maxLoopIterations) else {
                throw fail("constant trip count \(constantTrips) exceeds the engine's limit of \(ONNXLimits.maxLoopIterations) iterations")
            }
            return try loopOutput(result, carriedCount: carriedCount, scanCount: scanCount, lead: .fixed(Int(Swift.max(constantTrips, 0))))
        }
        return try loopOutput(result, carriedCount: carriedCount, scanCount: scanCount, lead: .unknown)
    }

    func loopOutput(_ body: Iterated, carriedCount: Int, scanCount: Int, lead: InferredShape.Dim) throws(ModelLoadError) -> Output {
        let scanFacts = Array(body.outputFacts[(1 + carriedCount)...])
        let kernel = LoopKernel(body: body.compiled, carriedCount: carriedCount, scanCount: scanCount,
                                captured: capturedIndices(body.capturedNames, in: body.capturedNames),
                                scanTypes: scanFacts.map(\.type), zeroIterationShapes: scanFacts.map { Self.zeroShape($0.shape) })
        var shapes = body.carried.map(\.shape)
        shapes += try scanFacts.map { f throws(ModelLoadError) in try stacked(f.shape, at: 0, length: lead) }
        return Output(operation: .kernel(kernel), shapes: shapes,
                      types: body.carried.map(\.type) + scanFacts.map(\.type), captured: body.capturedNames)
    }

    // MARK: Scan

    func compileScan() throws(ModelLoadError) -> Output {
        let attrs = try operatorCompiler.attributes(["body", "num_scan_inputs", "scan_input_axes", "scan_input_directions",
                                                     "scan_output_axes", "scan_output_directions"])
        let body = try graph(attrs, "body")
        guard attrs.byName["num_scan_inputs"] != nil else { throw fail("missing required attribute 'num_scan_inputs'") }
        let scanInputCount = try attrs.int("num_scan_inputs", default: 0)
        guard scanInputCount >= 1, scanInputCount <= Int64(node.inputs.count) else {
            throw fail("num_scan_inputs = \(scanInputCount) does not fit the node's \(node.inputs.count) inputs")
        }
        let m = Int(scanInputCount), stateCount = node.inputs.count - m
        var initial: [ValueFacts] = [], scanned: [ValueFacts] = []
        for i in 0..<node.inputs.count {
            guard let f = inputs(i) else { throw fail("input #\(i) is empty") }
            if i < stateCount { initial.append(f) } else { scanned.append(f) }
        }
        guard body.inputs.count == stateCount + m else {
            throw fail("the body declares \(body.inputs.count) inputs; the node binds \(stateCount) state values and \(m) scan slices")
        }
        guard body.outputs.count >= stateCount else {
            throw fail("the body declares \(body.outputs.count) outputs; it must return the \(stateCount) state values first")
        }
        let scanCount = body.outputs.count - stateCount
        guard node.outputs.count == stateCount + scanCount else {
            throw fail("the node has \(node.outputs.count) outputs; the body gives \(stateCount) state values and \(scanCount) scan outputs")
        }
        let inputAxesAttr = try operatorCompiler.ints(attrs, "scan_input_axes") ?? Array(repeating: 0, count: m)
        let inputDirections = try directions(attrs, "scan_input_directions", count: m)
        let outputAxesAttr = try operatorCompiler.ints(attrs, "scan_output_axes") ?? Array(repeating: 0, count: scanCount)
        let outputDirections = try directions(attrs, "scan_output_directions", count: scanCount)
        guard inputAxesAttr.count == m else { throw fail("scan_input_axes has \(inputAxesAttr.count) values for \(m) scan inputs") }
        guard outputAxesAttr.count == scanCount else { throw fail("scan_output_axes has \(outputAxesAttr.count) values for \(scanCount) scan outputs") }

        // Each scan input loses its scan axis in the body; all must agree on the sequence length.
        var inputAxes: [Int] = [], slices: [ValueFacts] = []
        var length: InferredShape.Dim? = nil
        for (j, x) in scanned.enumerated() {
            guard x.shape.rank >= 1 else { throw fail("scan input #\(j) is a scalar; it needs an axis to scan") }
            let axis = try operatorCompiler.normalizeAxis(inputAxesAttr[j], rank: x.shape.rank)
            let n = x.shape.dims[axis]
            if let seen = length, let a = seen.fixedValue, let b = n.fixedValue, a != b {
                throw fail("scan inputs have different sequence lengths (\(a) and \(b))")
            }
            if length == nil || length?.fixedValue == nil && n.fixedValue != nil { length = n }
            else if let seen = length, seen.fixedValue == nil, seen != n { length = .unknown }
            inputAxes.append(axis)
            var dims = x.shape.dims
            dims.remove(at: axis)
            slices.append(ValueFacts(shape: InferredShape(dims), type: x.type, constant: nil))
        }
        if let n = length?.fixedValue, n > ONNXLimits.maxLoopIterations {
            throw fail("sequence length \(n) exceeds the engine's limit of \(ONNXLimits.maxLoopIterations) iterations")
        }
        let invariant = (0..<stateCount).map { body.outputs[$0].name == body.inputs[$0].name }
        let result = try compileIterated(body, fixedInputs: [], initial: initial, invariant: invariant, outputOffset: 0, trailingInputs: slices)
        let scanFacts = Array(result.outputFacts[stateCount...])
        var outputAxes: [Int] = []
        var shapes = result.carried.map(\.shape)
        for (k, f) in scanFacts.enumerated() {
            let axis = try operatorCompiler.normalizeAxis(outputAxesAttr[k], rank: f.shape.rank, inclusiveEnd: true)
            outputAxes.append(axis)
            shapes.append(try stacked(f.shape, at: axis, length: length ?? .unknown))
        }
        let kernel = ScanKernel(body: result.compiled, stateCount: stateCount, inputAxes: inputAxes, inputReversed: inputDirections,
                                outputAxes: outputAxes, outputReversed: outputDirections,
                                captured: capturedIndices(result.capturedNames, in: result.capturedNames),
                                scanTypes: scanFacts.map(\.type), zeroIterationShapes: scanFacts.map { Self.zeroShape($0.shape) })
        return Output(operation: .kernel(kernel), shapes: shapes, types: result.carried.map(\.type) + scanFacts.map(\.type),
                      captured: result.capturedNames)
    }

    func directions(_ attrs: OperatorCompiler.AttributeSet, _ name: String, count: Int) throws(ModelLoadError) -> [Bool] {
        guard let values = try operatorCompiler.ints(attrs, name) else { return Array(repeating: false, count: count) }
        guard values.count == count else { throw fail("\(name) has \(values.count) values for \(count) scan values") }
        var result: [Bool] = []
        for v in values {
            guard v == 0 || v == 1 else { throw fail("\(name) values must be 0 (forward) or 1 (reverse), got \(v)") }
            result.append(v == 1)
        }
        return result
    }

    // MARK: Subgraphs

    /// A body compiled until its loop-carried shapes are stable.
    struct Iterated {
        var compiled: CompiledGraph
        var outputFacts: [ValueFacts]
        var capturedNames: [String]
        /// Facts valid for the loop-carried values on entry to every iteration (and on exit).
        var carried: [ValueFacts]
    }

    /// Compiles a Loop or Scan body whose inputs are `fixedInputs`, then the loop-carried
    /// values, then `trailingInputs`, and whose outputs from `outputOffset` on return the
    /// loop-carried values, widening their shapes until an iteration provably keeps them.
    func compileIterated(_ body: GraphProtoIR, fixedInputs: [ValueFacts], initial: [ValueFacts], invariant: [Bool],
                         outputOffset: Int, trailingInputs: [ValueFacts] = []) throws(ModelLoadError) -> Iterated {
        for info in body.outputs { try wrap(GraphCompiler.requireTensor(info, what: "body output"), "body") }
        var carried = initial.enumerated().map { k, f in
            invariant[k] ? f : ValueFacts(shape: f.shape, type: f.type, constant: nil)
        }
        // Each round turns at least one more dimension unknown, so this ends within
        // (total rank + 1) rounds.
        while true {
            let result = try compileSubgraph("body", body, inputs: fixedInputs + carried + trailingInputs)
            var widened = false
            for k in 0..<carried.count {
                let out = result.outputFacts[outputOffset + k], now = carried[k]
                guard out.type == now.type else {
                    throw fail("loop-carried value '\(body.inputs[fixedInputs.count + k].name)' enters the body as \(now.type.onnxName) but leaves it as \(out.type.onnxName)")
                }
                guard let merged = Self.merge(now.shape, out.shape) else {
                    throw fail("loop-carried value '\(body.inputs[fixedInputs.count + k].name)' changes rank from \(now.shape.rank) to \(out.shape.rank) between iterations, which is not supported")
                }
                if merged != now.shape {
                    carried[k] = ValueFacts(shape: merged, type: now.type, constant: nil)
                    widened = true
                }
            }
            if !widened {
                return Iterated(compiled: result.compiled, outputFacts: result.outputFacts, capturedNames: result.capturedNames, carried: carried)
            }
        }
    }

    /// Compiles one subgraph of this node in the scope of the node's graph.
    func compileSubgraph(_ attribute: String, _ graph: GraphProtoIR, inputs: [ValueFacts]) throws(ModelLoadError) -> GraphCompiler.Result {
        let nesting = (context.subgraph?.nesting ?? 0) + 1
        guard nesting <= ONNXLimits.maxSubgraphNesting else {
            throw fail("subgraphs nested deeper than \(ONNXLimits.maxSubgraphNesting) levels")
        }
        var compiler = GraphCompiler(graph: graph, opset: context.opset, modelDirectory: context.modelDirectory)
        compiler.subgraph = SubgraphContext(inputFacts: inputs, outer: outer, path: path(attribute), nesting: nesting)
        compiler.diagnostics = context.diagnostics
        return try wrap(compiler.compile(), attribute)
    }

    /// Prefixes an error from inside a subgraph with the subgraph's path, once: errors from
    /// deeper subgraphs already carry their full path.
    func wrap<T>(_ body: @autoclosure () throws(ModelLoadError) -> T, _ attribute: String) throws(ModelLoadError) -> T {
        do {
            return try body()
        } catch {
            let prefix = path(attribute)
            if error.message.hasPrefix(prefix + " > ") { throw error }
            throw ModelLoadError("\(prefix): \(error.message)")
        }
    }

    /// `Loop 'loop1' > body`, below the path of the node's own graph.
    func path(_ attribute: String) -> String {
        let scope = context.subgraph?.path ?? ""
        return (scope.isEmpty ? "" : scope + " > ") + "\(node.opType) '\(label)' > \(attribute)"
    }

    func graph(_ attrs: OperatorCompiler.AttributeSet, _ name: String) throws(ModelLoadError) -> GraphProtoIR {
        guard let attribute = attrs.byName[name] else { throw fail("missing required attribute '\(name)'") }
        guard attribute.kind == .graph, let graph = attribute.g else { throw fail("attribute '\(name)' must be a GRAPH") }
        return graph
    }

    // MARK: Helpers

    func inputs(_ index: Int) -> ValueFacts? {
        index < operatorCompiler.inputs.count ? operatorCompiler.inputs[index] : nil
    }

    func requireSingleElement(_ f: ValueFacts, _ what: String) throws(ModelLoadError) {
        if let (count, symbols) = InferredShape.factor(f.shape.dims[...]), symbols.isEmpty, count != 1 {
            throw fail("\(what) must hold exactly one element, got shape \(f.shape.description)")
        }
        guard f.shape.rank <= 1 else { throw fail("\(what) must be a scalar or a 1-element vector, got shape \(f.shape.description)") }
    }

    /// `shape` with the scan length inserted at `axis`.
    func stacked(_ shape: InferredShape, at axis: Int, length: InferredShape.Dim) throws(ModelLoadError) -> InferredShape {
        guard shape.rank < ONNXLimits.maxRank else { throw fail("a scan output of rank \(shape.rank + 1) exceeds \(ONNXLimits.maxRank)") }
        var dims = shape.dims
        dims.insert(length, at: axis)
        return InferredShape(dims)
    }

    /// Node-input indices (after the node's own inputs) of `names` within `all`.
    func capturedIndices(_ names: [String], in all: [String]) -> [Int] {
        names.map { name in node.inputs.count + (all.firstIndex(of: name) ?? 0) }
    }

    /// Per-dimension agreement of two shapes of equal rank; nil when the ranks differ.
    static func merge(_ a: InferredShape, _ b: InferredShape) -> InferredShape? {
        guard a.rank == b.rank else { return nil }
        return InferredShape(zip(a.dims, b.dims).map { $0 == $1 ? $0 : .unknown })
    }

    static func zeroShape(_ shape: InferredShape) -> [Int] { shape.dims.map { $0.fixedValue ?? 0 } }

    static func union(_ a: [String], _ b: [String]) -> [String] { a + b.filter { !a.contains($0) } }
}
