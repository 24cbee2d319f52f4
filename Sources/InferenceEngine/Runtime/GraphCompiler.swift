/// Builds a ``CompiledGraph`` and the public input/output descriptions from a parsed ONNX
/// graph, refusing anything the engine cannot run exactly. Folds constant subgraphs, infers
/// shapes (fixed and symbolic) and element types for every value, and marks the nodes whose
/// values depend only on the input shapes.
struct GraphCompiler {
    let graph: GraphProtoIR
    let opset: Int
    /// Where external data is resolved; nil when the model came from bytes without a directory.
    var modelDirectory: String? = nil
    /// Set when compiling an If branch or a Loop/Scan body (see GraphCompiler+Subgraph.swift).
    var subgraph: SubgraphContext? = nil
    /// Set by `Model.inspect` to collect every problem instead of throwing at the first.
    var diagnostics: LoadDiagnostics? = nil

    struct Result {
        var compiled: CompiledGraph
        var inputs: [ValueInfo]
        var outputs: [ValueInfo]
        var parameterCount: Int
        /// Outer-scope values a subgraph reads, in the order they follow its formal inputs.
        var capturedNames: [String] = []
        /// What the compiler knows about each graph output.
        var outputFacts: [ValueFacts] = []
    }

    func compile() throws(ModelLoadError) -> Result {
        if graph.hasSparseInitializers {
            throw ModelLoadError("sparse initializers are not supported yet")
        }
        var slotOf: [String: Int] = [:]
        var facts: [ValueFacts] = []
        var constants: [(slot: Int, tensor: Tensor)] = []
        var parameterCount = 0

        func newSlot(_ name: String, _ f: ValueFacts) -> Int {
            let slot = facts.count
            facts.append(f)
            slotOf[name] = slot
            return slot
        }

        // Initializers: constants, also when listed as graph inputs (then they are not model inputs).
        var external: ExternalDataReader?
        if let modelDirectory, graph.initializers.contains(where: { $0.hasExternalData || $0.dataLocation == 1 }) {
            external = try ExternalDataReader(modelDirectory: modelDirectory)
        }
        for proto in graph.initializers {
            guard !proto.name.isEmpty else { throw ModelLoadError("an initializer has no name") }
            guard slotOf[proto.name] == nil else { throw ModelLoadError("initializer '\(proto.name)' is defined twice") }
            let tensor = try TensorDecoder.decode(proto, what: "initializer '\(proto.name)'", external: external)
            parameterCount += tensor.elementCount
            let slot = newSlot(proto.name, ValueFacts(shape: InferredShape(fixed: tensor.shape), type: tensor.elementType, constant: tensor))
            constants.append((slot, tensor))
        }

        // Model inputs (for a subgraph: the formal inputs its control-flow node binds).
        var inputs: [ValueInfo] = []
        var inputSlots: [Int] = []
        let initializerNames = Set(graph.initializers.map(\.name))
        for (info, f) in try subgraphInputs() {
            guard slotOf[info.name] == nil else { throw ModelLoadError("subgraph input '\(info.name)' is declared twice") }
            let slot = newSlot(info.name, f)
            if let c = f.constant { constants.append((slot, c)) }
            inputSlots.append(slot)
        }
        for info in graph.inputs where subgraph == nil && !initializerNames.contains(info.name) {
            guard !info.name.isEmpty else { throw ModelLoadError("a graph input has no name") }
            guard slotOf[info.name] == nil else { throw ModelLoadError("graph input '\(info.name)' is declared twice") }
            let value = try describeInput(info)
            inputs.append(value)
            inputSlots.append(newSlot(info.name, ValueFacts(shape: InferredShape(value.dimensions), type: value.elementType, constant: nil)))
        }

        // Names not defined here are looked up in the enclosing graphs (subgraphs only).
        var captured: [(name: String, slot: Int)] = []
        func resolve(_ name: String) -> Int? {
            if let slot = slotOf[name] { return slot }
            guard let f = subgraph?.outer(name) else { return nil }
            let slot = newSlot(name, f)
            if let c = f.constant { constants.append((slot, c)) } else { captured.append((name, slot)) }
            return slot
        }
        // Outputs of nodes that failed while collecting diagnostics; their readers are skipped.
        var poisoned = Set<String>()
        let problemsBefore = diagnostics?.count ?? 0

        // Nodes, in file order, which ONNX requires to be topological.
        var nodes: [CompiledNode] = []
        for (index, node) in graph.nodes.enumerated() {
            let label = node.name.isEmpty ? "#\(index)" : node.name
            if diagnostics != nil, node.inputs.contains(where: poisoned.contains) {
                poisoned.formUnion(node.outputs)
                continue
            }
            var inputFacts: [ValueFacts?] = []
            var inputSlotsOfNode: [Int] = []
            for name in node.inputs {
                if name.isEmpty { inputFacts.append(nil); inputSlotsOfNode.append(-1); continue }
                guard let slot = resolve(name) else {
                    throw ModelLoadError("input '\(name)' of node '\(label)' (\(node.opType)) is not produced by any earlier node, graph input or initializer (nodes must be topologically sorted)")
                }
                inputFacts.append(facts[slot])
                inputSlotsOfNode.append(slot)
            }
            for name in node.outputs where !name.isEmpty && slotOf[name] != nil {
                throw ModelLoadError("value '\(name)' is produced twice (second time by node '\(label)')")
            }

            if node.opType == "Constant" && (node.domain.isEmpty || node.domain == "ai.onnx") {
                let tensor = try constantValue(node, label: label)
                guard node.outputs.count == 1, !node.outputs[0].isEmpty else {
                    throw ModelLoadError("Constant (node '\(label)'): expects exactly one output")
                }
                let slot = newSlot(node.outputs[0], ValueFacts(shape: InferredShape(fixed: tensor.shape), type: tensor.elementType, constant: tensor))
                constants.append((slot, tensor))
                continue
            }

            let compiler = OperatorCompiler(node: node, label: label, inputs: inputFacts, opset: opset,
                                            diagnostics: diagnostics, scope: subgraph?.path ?? "")
            let operation: Operation, shapes: [InferredShape], types: [ElementType]
            let problemsBeforeNode = diagnostics?.count ?? 0
            do throws(ModelLoadError) {
                if ControlFlowCompiler.handles(node) {
                    let cf = try ControlFlowCompiler(operatorCompiler: compiler, context: self,
                                                     outer: { name in resolve(name).map { facts[$0] } }).compile()
                    // Captured values become extra inputs of the node: it passes them to its subgraphs.
                    for name in cf.captured {
                        guard let slot = resolve(name) else { throw compiler.fail("captured value '\(name)' vanished") }
                        inputSlotsOfNode.append(slot)
                        inputFacts.append(facts[slot])
                    }
                    (operation, shapes, types) = (cf.operation, cf.shapes, cf.types)
                } else {
                    (operation, shapes, types) = try compiler.compileAny()
                }
            } catch {
                guard let diagnostics else { throw error }
                // Unsupported operators are listed separately; a subgraph reports its own nodes.
                if diagnostics.count == problemsBeforeNode && OperatorCompiler.implements(node) {
                    diagnostics.record(.init(kind: .error(error.message), opType: node.opType,
                                             nodePath: LoadDiagnostics.nodePath(scope: subgraph?.path ?? "", opType: node.opType, label: label)))
                }
                poisoned.formUnion(node.outputs)
                continue
            }
            // Inferred sizes stay in 0...2^31 so that later inference arithmetic cannot overflow.
            for shape in shapes {
                for d in shape.dims {
                    if let v = d.fixedValue, v < 0 || v > ONNXLimits.maxTensorElements {
                        throw ModelLoadError("\(node.opType) (node '\(label)'): inferred output shape \(shape.description) has an invalid dimension \(v)")
                    }
                }
            }
            let compiledNode = CompiledNode(name: label, opType: node.opType, operation: operation, inputs: inputSlotsOfNode, outputs: [])

            // Shape/Size of a value whose dimensions are all fixed at load is itself a constant.
            if case .kernel(let kernel) = operation, node.outputs.count == 1, !node.outputs[0].isEmpty,
               let x = inputFacts.first ?? nil, x.constant == nil,
               x.shape.dims.allSatisfy({ $0.fixedValue != nil }) {
                let dims = x.shape.dims.map { Int64($0.fixedValue!) }
                var folded: Tensor?
                if let shapeKernel = kernel as? ShapeKernel {
                    let part = Array(dims[shapeKernel.start..<Swift.min(shapeKernel.end, dims.count)])
                    folded = Tensor(shape: [part.count], storage: .int64(part))
                } else if kernel is SizeKernel {
                    folded = Tensor(shape: [], storage: .int64([dims.reduce(1, *)]))
                }
                if let folded {
                    let slot = newSlot(node.outputs[0], ValueFacts(shape: InferredShape(fixed: folded.shape), type: .int64, constant: folded))
                    constants.append((slot, folded))
                    continue
                }
            }

            // Constant folding: a node whose inputs are all constants runs once, here.
            let foldable = inputFacts.contains { $0 != nil } && inputFacts.allSatisfy { $0 == nil || $0?.constant != nil }
            if foldable {
                var results: [Tensor] = []
                do {
                    results = try NodeExecutor(node: compiledNode).run(inputFacts.map { $0?.constant })
                } catch {
                    throw ModelLoadError("\(node.opType) (node '\(label)'): \(error) (evaluating constant inputs at load)")
                }
                for (i, name) in node.outputs.enumerated() where !name.isEmpty {
                    guard i < results.count else { break }
                    let t = results[i]
                    let slot = newSlot(name, ValueFacts(shape: InferredShape(fixed: t.shape), type: t.elementType, constant: t))
                    constants.append((slot, t))
                }
                continue
            }

            var outputSlots: [Int] = []
            for (i, name) in node.outputs.enumerated() {
                if name.isEmpty { outputSlots.append(-1); continue }
                var outFacts = ValueFacts(shape: shapes[i], type: types[i], constant: nil)
                if i == 0 { outFacts.symbolicValue = Self.propagateValue(node, operation, inputFacts) }
                let slot = newSlot(name, outFacts)
                outputSlots.append(slot)
            }
            var finished = compiledNode
            finished.outputs = outputSlots
            finished.inferred = outputSlots.map { $0 >= 0 ? facts[$0].shape : nil }
            nodes.append(finished)
        }

        // Model outputs.
        var outputs: [ValueInfo] = []
        var outputSlots: [Int] = []
        for info in graph.outputs {
            if diagnostics != nil && poisoned.contains(info.name) { continue }
            guard let slot = resolve(info.name) else {
                throw ModelLoadError("graph output '\(info.name)' is not produced by any node, input or initializer")
            }
            let f = facts[slot]
            if info.isTensor, info.elemType != 0, info.elemType != f.type.onnxDataType {
                let declared = ElementType(onnxDataType: info.elemType)?.onnxName ?? "type \(info.elemType)"
                throw ModelLoadError("graph output '\(info.name)' is declared as \(declared) but computes \(f.type.onnxName)")
            }
            outputs.append(ValueInfo(name: info.name, elementType: f.type, dimensions: try outputDimensions(info, inferred: f.shape)))
            outputSlots.append(slot)
        }
        guard !outputs.isEmpty else { throw ModelLoadError("the graph has no outputs") }
        if let diagnostics, diagnostics.count > problemsBefore {
            throw ModelLoadError("\(diagnostics.count - problemsBefore) problems found")
        }

        let compiled = CompiledGraph.assemble(
            valueCount: facts.count, constants: constants, inputSlots: inputSlots + captured.map(\.slot), outputSlots: outputSlots,
            nodes: nodes, valueTypes: facts.map(\.type), valueShapes: facts.map(\.shape))
        return Result(compiled: compiled, inputs: inputs, outputs: outputs, parameterCount: parameterCount,
                      capturedNames: captured.map(\.name), outputFacts: outputSlots.map { facts[$0] })
    }

    /// Symbolic values of small integer tensors through the usual shape-computing ops, so that
    /// Reshape/Expand/ConstantOfShape targets built from `Shape` keep names like `batch`.
    static func propagateValue(_ node: NodeProtoIR, _ operation: Operation, _ inputs: [ValueFacts?]) -> [InferredShape.Dim]? {
        guard case .kernel(let kernel) = operation else { return nil }
        func value(_ i: Int) -> [InferredShape.Dim]? { i < inputs.count ? inputs[i]?.knownValue : nil }
        func ints(_ i: Int) -> [Int64]? { i < inputs.count ? inputs[i]?.constantInts : nil }
        switch kernel {
        case let shape as ShapeKernel:
            guard let x = inputs.first ?? nil else { return nil }
            let dims = x.shape.dims
            return Array(dims[Swift.min(shape.start, dims.count)..<Swift.min(shape.end, dims.count)])
        case let gather as GatherKernel:
            guard gather.axis == 0, let data = value(0), let idx = ints(1), inputs[0]?.shape.rank == 1 else { return nil }
            var out: [InferredShape.Dim] = []
            for v in idx {
                let n = Int64(data.count)
                guard v >= -n, v < n else { return nil }
                out.append(data[Int(v < 0 ? v + n : v)])
            }
            return out
        case is ReshapeKernel, is IdentityKernel:
            return value(0)
        case let cast as CastKernel:
            return cast.to == .int64 || cast.to == .int32 ? value(0) : nil
        case let concat as ConcatKernel:
            guard concat.axis == 0 else { return nil }
            var out: [InferredShape.Dim] = []
            for i in 0..<inputs.count { guard let v = value(i) else { return nil }; out += v }
            return out.count <= ONNXLimits.maxRank * 4 ? out : nil
        case is SliceKernel:
            guard let data = value(0), let starts = ints(1), let ends = ints(2), starts.count == 1, ends.count == 1 else { return nil }
            if inputs.count > 3, let axes = ints(3), axes != [0] && axes != [-1] { return nil }
            var step: Int64 = 1
            if inputs.count > 4, inputs[4] != nil { guard let s = ints(4), s.count == 1, s[0] != 0 else { return nil }; step = s[0] }
            let (first, count) = SliceKernel.range(start: starts[0], end: ends[0], step: step, size: data.count)
            return (0..<count).map { data[first + $0 * Int(step)] }
        case let binary as BinaryKernel where [.mul, .div, .add, .sub].contains(binary.op):
            // x · 1, x / 1, x ± 0 keep the symbol; everything fixed computes out (integer
            // division truncates, as ONNX Div does on integers), as the head-size arithmetic
            // of exported attention (`embed / heads`) needs.
            guard let a = value(0), let b = value(1), a.count == b.count || a.count == 1 || b.count == 1 else { return nil }
            let n = Swift.max(a.count, b.count)
            return (0..<n).map { i in
                let x = a[a.count == 1 ? 0 : i], y = b[b.count == 1 ? 0 : i]
                switch binary.op {
                case .mul:
                    if case .fixed(1) = x { return y }
                    if case .fixed(1) = y { return x }
                    if let p = x.fixedValue, let q = y.fixedValue { return .fixed(p * q) }
                case .div:
                    if case .fixed(1) = y { return x }
                    if let p = x.fixedValue, let q = y.fixedValue, q != 0 { return .fixed(p / q) }
                case .add:
                    if case .fixed(0) = x { return y }
                    if case .fixed(0) = y { return x }
                    if let p = x.fixedValue, let q = y.fixedValue { return .fixed(p + q) }
                default:
                    if case .fixed(0) = y { return x }
                    if let p = x.fixedValue, let q = y.fixedValue { return .fixed(p - q) }
                }
                return .unknown
            }
        default:
            return nil
        }
    }

    func describeInput(_ info: ValueInfoProtoIR) throws(ModelLoadError) -> ValueInfo {
        guard info.isTensor else {
            throw ModelLoadError("input '\(info.name)' is not a tensor (sequence/map/optional inputs are not supported)")
        }
        guard let type = ElementType(onnxDataType: info.elemType) else {
            throw ModelLoadError("input '\(info.name)' has unsupported element type \(info.elemType)")
        }
        guard TensorStorage.supportedTypes.contains(type) else {
            throw ModelLoadError("input '\(info.name)' has element type \(type.onnxName) (\(type)); supported input types are FLOAT, INT64, INT32 and BOOL")
        }
        guard let dims = info.dims else {
            throw ModelLoadError("input '\(info.name)' declares no shape; the engine needs at least the rank")
        }
        var dimensions: [Dimension] = []
        for (i, d) in dims.enumerated() {
            switch d {
            case .value(let v):
                guard v >= 0, v <= Int64(ONNXLimits.maxTensorElements) else {
                    throw ModelLoadError("input '\(info.name)' declares invalid dimension \(v)")
                }
                dimensions.append(.fixed(Int(v)))
            case .param(let name) where !name.isEmpty:
                dimensions.append(.symbolic(name))
            default:
                // An anonymous dynamic dimension: give it a unique name so it constrains nothing else.
                dimensions.append(.symbolic("\(info.name)_dim\(i)"))
            }
        }
        return ValueInfo(name: info.name, elementType: type, dimensions: dimensions)
    }

    func outputDimensions(_ info: ValueInfoProtoIR, inferred: InferredShape) throws(ModelLoadError) -> [Dimension] {
        if let declared = info.dims {
            guard declared.count == inferred.rank else {
                throw ModelLoadError("graph output '\(info.name)' is declared with rank \(declared.count) but the graph computes \(inferred.description)")
            }
            var result: [Dimension] = []
            for (i, d) in declared.enumerated() {
                switch d {
                case .value(let v):
                    if let fixed = inferred.dims[i].fixedValue, Int64(fixed) != v {
                        throw ModelLoadError("graph output '\(info.name)' is declared with dimension \(i) = \(v) but the graph computes \(inferred.description)")
                    }
                    guard v >= 0 else { throw ModelLoadError("graph output '\(info.name)' declares invalid dimension \(v)") }
                    result.append(.fixed(Int(v)))
                case .param(let name) where !name.isEmpty:
                    // Prefer what inference proved (a fixed size, or the name of the input dimension it
                    // follows, e.g. `batch`) over the exporter's own label (`unk__12`, `Concath_dim_1`).
                    switch inferred.dims[i] {
                    case .fixed(let n): result.append(.fixed(n))
                    case .symbolic(let s): result.append(.symbolic(s))
                    case .unknown: result.append(.symbolic(name))
                    }
                default:
                    result.append(Self.dimension(inferred.dims[i], output: info.name, index: i))
                }
            }
            return result
        }
        return inferred.dims.enumerated().map { Self.dimension($1, output: info.name, index: $0) }
    }

    static func dimension(_ d: InferredShape.Dim, output: String, index: Int) -> Dimension {
        switch d {
        case .fixed(let n): .fixed(n)
        case .symbolic(let s): .symbolic(s)
        case .unknown: .symbolic("\(output)_dim\(index)")
        }
    }

    func constantValue(_ node: NodeProtoIR, label: String) throws(ModelLoadError) -> Tensor {
        guard node.inputs.isEmpty else { throw ModelLoadError("Constant (node '\(label)'): takes no inputs") }
        guard node.attributes.count == 1, let attribute = node.attributes.first else {
            throw ModelLoadError("Constant (node '\(label)'): expects exactly one value attribute")
        }
        switch attribute.name {
        case "value":
            guard attribute.kind == .tensor, let t = attribute.t else {
                throw ModelLoadError("Constant (node '\(label)'): attribute 'value' must be a TENSOR")
            }
            return try TensorDecoder.decode(t, what: "Constant (node '\(label)')")
        case "value_float" where attribute.kind == .float:
            return Tensor(shape: [], scalars: [attribute.f])
        case "value_floats" where attribute.kind == .floats:
            return Tensor(shape: [attribute.floats.count], scalars: attribute.floats)
        case "value_int" where attribute.kind == .int:
            return Tensor(shape: [], storage: .int64([attribute.i]))
        case "value_ints" where attribute.kind == .ints:
            return Tensor(shape: [attribute.ints.count], storage: .int64(attribute.ints))
        default:
            throw ModelLoadError("Constant (node '\(label)'): unsupported attribute '\(attribute.name)'")
        }
    }
}
