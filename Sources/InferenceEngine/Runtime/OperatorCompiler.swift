/// What the compiler knows about a value when a node consumes it.
struct ValueFacts {
    var shape: InferredShape
    var type: ElementType
    /// The value itself when it is an initializer or Constant output.
    var constant: Tensor?
    /// For a rank-0/1 integer value computed from shapes (Shape → Gather → Concat ...): its
    /// elements as dimensions, symbolic where they follow a named input dimension.
    var symbolicValue: [InferredShape.Dim]? = nil

    /// ``symbolicValue``, or the elements of a small integer constant.
    var knownValue: [InferredShape.Dim]? {
        if let symbolicValue { return symbolicValue }
        guard let c = constant, c.elementType == .int64 || c.elementType == .int32, c.shape.count <= 1, c.elementCount <= ONNXLimits.maxRank * 4 else { return nil }
        return c.storage.int64Values.map { $0 >= 0 ? .fixed(Int($0)) : .unknown }
    }
    /// Raw integer constant values (keeps -1 and 0 for Reshape).
    var constantInts: [Int64]? {
        guard let c = constant, c.elementType == .int64 || c.elementType == .int32 else { return nil }
        return c.storage.int64Values
    }
}

/// Validates one ONNX node (operator, arity, attributes, input types and static shapes) and
/// turns it into an ``Operation`` plus the inferred output shapes.
///
/// Everything a request cannot change is checked here, once, so that `run` only has to check
/// what depends on request shapes.
struct OperatorCompiler {
    let node: NodeProtoIR
    let label: String
    let inputs: [ValueFacts?]
    let opset: Int
    /// Set while `Model.inspect` collects problems: unknown attributes are recorded, not thrown.
    var diagnostics: LoadDiagnostics? = nil
    /// Where the node's graph sits (`Loop 'loop1' > body`), `""` for the model's graph.
    var scope = ""

    /// Default-domain operators the engine implements (error messages, inspection, fixture
    /// coverage); `supportedMLOperators` lists the `ai.onnx.ml` ones.
    static let supportedOperators = [
        "Abs", "Add", "And", "Mean", "Sum", "Acos", "Asin", "Atan", "Acosh", "Asinh", "Atanh", "Sinh", "Cosh", "Tan",
        "Round", "Softsign", "Mish", "Celu", "ThresholdedRelu", "Shrink", "ReduceL1", "ReduceLogSum", "ReduceLogSumExp",
        "CastLike", "IsNaN", "IsInf", "GatherElements", "ScatterElements", "ScatterND", "TopK", "OneHot", "Hardmax",
        "EyeLike", "DepthToSpace", "SpaceToDepth", "ArgMax", "ArgMin", "AveragePool", "CumSum", "HardSwish", "LogSoftmax", "Pad", "PRelu", "Selu", "GRU", "LSTM", "RNN", "InstanceNormalization", "GroupNormalization", "ConvTranspose", "BatchNormalization", "Cast", "Ceil", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv",
        "Cos", "Div", "Dropout", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "Gelu", "Gemm",
        "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid", "Identity", "If", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual",
        "Log", "Loop", "MatMul", "Max", "MaxPool", "Min", "Mod", "Mul", "Neg", "Not", "Or", "Pow", "Range", "Reciprocal", "ReduceL2",
        "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Scan", "Shape",
        "Sigmoid", "Sign", "Sin", "Size", "Slice", "Softmax", "Softplus", "Split", "Sqrt", "Squeeze", "Sub", "Tanh",
        "Tile", "Transpose", "Trilu", "Unsqueeze", "Where", "Xor"].sorted()

    func fail(_ message: String) -> ModelLoadError {
        ModelLoadError("\(node.opType) (node '\(label)'): \(message)")
    }

    func compile() throws(ModelLoadError) -> (Operation, [InferredShape]) {
        switch node.opType {
        case "Add", "Sub", "Mul", "Div":
            let op = BinaryOperator(rawValue: node.opType)!
            let (a, b) = try binaryInputs()
            _ = try attributes([])
            guard let dims = InferredShape.broadcast(a.shape.dims, b.shape.dims) else {
                throw fail("input shapes \(a.shape.description) and \(b.shape.description) cannot be broadcast together")
            }
            return (.binary(op), [InferredShape(dims)])
        case "Relu", "Sigmoid", "Tanh":
            let x = try unaryInput()
            _ = try attributes([])
            return (.unary(UnaryOperator(rawValue: node.opType)!), [x.shape])
        case "Identity":
            let x = try unaryInput()
            _ = try attributes([])
            return (.identity, [x.shape])
        case "MatMul":
            let (a, b) = try binaryInputs()
            _ = try attributes([])
            let shape = try matMulShape(a.shape, b.shape)
            // A constant 2-D B (a weight) is packed once here; A's leading dims then flatten
            // into M, which is exactly numpy's matmul for a 2-D right operand.
            if let weight = b.constant, weight.shape.count == 2, weight.elementType == .float32 {
                return (.gemm(GemmAttributes(constantB: weight, flattenA: true)), [shape])
            }
            return (.matMul, [shape])
        case "Gemm":
            return try compileGemm()
        case "Softmax":
            let x = try unaryInput()
            let attrs = try attributes(["axis"])
            let rank = x.shape.rank
            let legacy = opset < 13
            let axis = try attrs.int("axis", default: legacy ? 1 : -1)
            guard axis >= -Int64(rank), axis < Int64(max(rank, 1)) else {
                throw fail("axis \(axis) is out of range for an input of rank \(rank)")
            }
            let normalized = axis < 0 ? Int(axis) + rank : Int(axis)
            return (.softmax(axis: normalized, coerceTo2D: legacy), [x.shape])
        case "Flatten":
            let x = try unaryInput()
            let attrs = try attributes(["axis"])
            let rank = x.shape.rank
            let axis = try attrs.int("axis", default: 1)
            guard axis >= -Int64(rank), axis <= Int64(rank) else {
                throw fail("axis \(axis) is out of range for an input of rank \(rank)")
            }
            let a = axis < 0 ? Int(axis) + rank : Int(axis)
            let dims = x.shape.dims
            return (.flatten(axis: a), [InferredShape([InferredShape.product(dims[..<a]), InferredShape.product(dims[a...])])])
        case "Reshape":
            return try compileReshape()
        default:
            let qualified = node.domain.isEmpty || node.domain == "ai.onnx" ? node.opType : "\(node.domain).\(node.opType)"
            throw ModelLoadError("unsupported operator '\(qualified)' (node '\(label)'); supported operators: \(Self.supportedOperators.joined(separator: ", "))")
        }
    }

    // MARK: Inputs and attributes

    func requireArity(min: Int, max: Int) throws(ModelLoadError) {
        var count = node.inputs.count
        while count > 0, node.inputs[count - 1].isEmpty { count -= 1 }
        guard count >= min, count <= max else {
            throw fail("expects \(min == max ? "\(min)" : "\(min) to \(max)") inputs, got \(count)")
        }
        guard node.outputs.count == 1 else { throw fail("expects 1 output, got \(node.outputs.count)") }
        for i in 0..<min where node.inputs[i].isEmpty {
            throw fail("required input #\(i) is empty")
        }
    }

    func floatInput(_ index: Int) throws(ModelLoadError) -> ValueFacts {
        guard index < inputs.count, let facts = inputs[index] else { throw fail("missing input #\(index)") }
        guard facts.type == .float32 else {
            throw fail("input '\(node.inputs[index])' has element type \(facts.type.onnxName); v0 computes in FLOAT only")
        }
        return facts
    }

    func unaryInput() throws(ModelLoadError) -> ValueFacts {
        try requireArity(min: 1, max: 1)
        return try floatInput(0)
    }

    func binaryInputs() throws(ModelLoadError) -> (ValueFacts, ValueFacts) {
        try requireArity(min: 2, max: 2)
        return (try floatInput(0), try floatInput(1))
    }

    func attributes(_ allowed: Set<String>) throws(ModelLoadError) -> AttributeSet {
        var byName: [String: AttributeProtoIR] = [:]
        for attribute in node.attributes {
            guard allowed.contains(attribute.name) else {
                if let diagnostics {
                    diagnostics.record(.init(kind: .unsupportedAttribute(attribute.name), opType: node.opType,
                                             nodePath: LoadDiagnostics.nodePath(scope: scope, opType: node.opType, label: label)))
                    continue
                }
                throw fail("unsupported attribute '\(attribute.name)'")
            }
            guard attribute.refAttrName.isEmpty else {
                throw fail("attribute '\(attribute.name)' refers to a function attribute, which v0 does not support")
            }
            guard byName.updateValue(attribute, forKey: attribute.name) == nil else {
                throw fail("attribute '\(attribute.name)' appears twice")
            }
        }
        return AttributeSet(byName: byName, compiler: self)
    }

    struct AttributeSet {
        let byName: [String: AttributeProtoIR]
        let compiler: OperatorCompiler

        func int(_ name: String, default value: Int64) throws(ModelLoadError) -> Int64 {
            guard let a = byName[name] else { return value }
            guard a.kind == .int else { throw compiler.fail("attribute '\(name)' must be an INT") }
            return a.i
        }

        func float(_ name: String, default value: Float) throws(ModelLoadError) -> Float {
            guard let a = byName[name] else { return value }
            guard a.kind == .float else { throw compiler.fail("attribute '\(name)' must be a FLOAT") }
            return a.f
        }

        func flag(_ name: String) throws(ModelLoadError) -> Bool {
            let v = try int(name, default: 0)
            guard v == 0 || v == 1 else { throw compiler.fail("unsupported value \(name)=\(v) (must be 0 or 1)") }
            return v == 1
        }
    }

    // MARK: Operators with more logic

    func matMulShape(_ aShape: InferredShape, _ bShape: InferredShape) throws(ModelLoadError) -> InferredShape {
        var a = aShape.dims, b = bShape.dims
        guard !a.isEmpty, !b.isEmpty else { throw fail("inputs must have rank ≥ 1, got \(aShape.description) and \(bShape.description)") }
        let aVector = a.count == 1, bVector = b.count == 1
        if aVector { a.insert(.fixed(1), at: 0) }
        if bVector { b.append(.fixed(1)) }
        if let ka = a[a.count - 1].fixedValue, let kb = b[b.count - 2].fixedValue, ka != kb {
            throw fail("inner dimensions do not match: \(aShape.description) × \(bShape.description)")
        }
        guard var out = InferredShape.broadcast(Array(a.dropLast(2)), Array(b.dropLast(2))) else {
            throw fail("batch dimensions of \(aShape.description) and \(bShape.description) cannot be broadcast")
        }
        if !aVector { out.append(a[a.count - 2]) }
        if !bVector { out.append(b[b.count - 1]) }
        return InferredShape(out)
    }

    func compileGemm() throws(ModelLoadError) -> (Operation, [InferredShape]) {
        try requireArity(min: 2, max: 3)
        let a = try floatInput(0), b = try floatInput(1)
        let c: ValueFacts? = node.inputs.count > 2 && !node.inputs[2].isEmpty ? try floatInput(2) : nil
        let attrs = try attributes(["alpha", "beta", "transA", "transB"])
        let alpha = try attrs.float("alpha", default: 1), beta = try attrs.float("beta", default: 1)
        let transA = try attrs.flag("transA"), transB = try attrs.flag("transB")
        guard a.shape.rank == 2, b.shape.rank == 2 else {
            throw fail("A and B must be 2-D, got \(a.shape.description) and \(b.shape.description)")
        }
        let m = a.shape.dims[transA ? 1 : 0], ka = a.shape.dims[transA ? 0 : 1]
        let kb = b.shape.dims[transB ? 1 : 0], n = b.shape.dims[transB ? 0 : 1]
        if let x = ka.fixedValue, let y = kb.fixedValue, x != y {
            throw fail("inner dimensions do not match: A \(a.shape.description)\(transA ? "ᵀ" : "") × B \(b.shape.description)\(transB ? "ᵀ" : "")")
        }
        if let c {
            guard c.shape.rank <= 2 else { throw fail("C must have rank ≤ 2, got \(c.shape.description)") }
            let target = [m, n]
            for (i, d) in c.shape.dims.enumerated() {
                let t = target[i + 2 - c.shape.rank]
                if let dv = d.fixedValue, dv != 1, let tv = t.fixedValue, dv != tv {
                    throw fail("C \(c.shape.description) cannot be broadcast to [M, N] = \(InferredShape(target).description)")
                }
            }
        }
        let attributes = GemmAttributes(alpha: alpha, beta: beta, transA: transA, transB: transB, constantB: b.constant)
        return (.gemm(attributes), [InferredShape([m, n])])
    }

    func compileReshape() throws(ModelLoadError) -> (Operation, [InferredShape]) {
        try requireArity(min: 2, max: 2)
        let x = try floatInput(0)
        let attrs = try attributes(["allowzero"])
        let allowZero = try attrs.flag("allowzero")
        guard let shapeFacts = inputs[1], let constant = shapeFacts.constant, case .int64(let shape) = constant.storage,
              constant.shape.count == 1 else {
            throw fail("the shape input '\(node.inputs[1])' must be a constant 1-D INT64 tensor (initializer or Constant) in v0")
        }
        guard shape.count <= ONNXLimits.maxRank else { throw fail("target rank \(shape.count) exceeds \(ONNXLimits.maxRank)") }
        var out: [InferredShape.Dim] = []
        var inferIndex: Int?
        for (i, v) in shape.enumerated() {
            switch v {
            case -1:
                guard inferIndex == nil else { throw fail("shape \(shape) has more than one -1") }
                inferIndex = i
                out.append(.unknown)
            case 0 where !allowZero:
                guard i < x.shape.rank else { throw fail("shape \(shape) copies dimension \(i) (0) but the input has rank \(x.shape.rank)") }
                out.append(x.shape.dims[i])
            case let v where v < -1 || v > Int64(ONNXLimits.maxTensorElements):
                throw fail("invalid dimension \(v) in shape \(shape)")
            default:
                out.append(.fixed(Int(v)))
            }
        }
        if allowZero, inferIndex != nil, shape.contains(0) {
            throw fail("shape \(shape) combines 0 and -1 with allowzero=1, which ONNX forbids")
        }
        let input = InferredShape.factor(x.shape.dims[...])
        var known = out
        if let i = inferIndex { known.remove(at: i) }
        if let input, let target = InferredShape.factor(known[...]) {
            var remaining = input.symbols
            var subset = true
            for s in target.symbols {
                if let j = remaining.firstIndex(of: s) { remaining.remove(at: j) } else { subset = false }
            }
            if let i = inferIndex {
                if subset, target.fixed != 0, input.fixed % target.fixed == 0 {
                    let ratio = input.fixed / target.fixed
                    if remaining.isEmpty { out[i] = .fixed(ratio) } else if remaining.count == 1, ratio == 1 { out[i] = .symbolic(remaining[0]) }
                } else if subset, remaining.isEmpty, target.fixed != 0 {
                    throw fail("cannot reshape \(x.shape.description) (\(input.fixed) elements) to \(shape)")
                }
            } else if input.symbols.isEmpty, target.symbols.isEmpty, input.fixed != target.fixed {
                throw fail("cannot reshape \(x.shape.description) (\(input.fixed) elements) to \(shape)")
            }
        }
        return (.reshape(shape: shape, allowZero: allowZero), [InferredShape(out)])
    }
}
