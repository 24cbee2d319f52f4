/// Load-time validation and shape/type inference for the operators beyond the original core set (v0: Gemm, MatMul, Add/Sub/Mul/Div, Relu, Sigmoid, Tanh, Softmax,
/// Flatten, constant Reshape, Identity, Constant, compiled in `OperatorCompiler.compile`).
/// Each returns a kernel value plus the inferred shape and element type of every output.
extension OperatorCompiler {
    typealias Compiled = (any NodeKernel, [InferredShape], [ElementType])

    static let numericTypes: Set<ElementType> = [.float32, .int64, .int32]
    static let allTypes: Set<ElementType> = [.float32, .int64, .int32, .bool]
    static let indexTypes: Set<ElementType> = [.int64, .int32]

    func compileAny() throws(ModelLoadError) -> (Operation, [InferredShape], [ElementType]) {
        if let (kernel, shapes, types) = try compileExtended() { return (.kernel(kernel), shapes, types) }
        let (op, shapes) = try compile()
        return (op, shapes, shapes.map { _ in .float32 })
    }

    var isDefaultDomain: Bool { node.domain.isEmpty || node.domain == "ai.onnx" }

    func compileExtended() throws(ModelLoadError) -> Compiled? {
        guard isDefaultDomain else { return node.domain == "ai.onnx.ml" ? try compileML() : nil }
        let anyNonFloat = inputs.contains { $0 != nil && $0!.type != .float32 }
        switch node.opType {
        case "Add", "Sub", "Mul", "Div":
            return anyNonFloat ? try compileBinary() : nil
        case "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor":
            return try compileBinary()
        case "Max", "Min", "Sum", "Mean":
            return try compileVariadic()
        case "Identity":
            return anyNonFloat ? try compileIdentity() : nil
        case "Flatten":
            return anyNonFloat ? try compileFlattenAny() : nil
        case "Reshape":
            if !anyNonFloat, node.inputs.count > 1, let f = inputs[1], f.constant != nil { return nil }
            return try compileDynamicReshape()
        case "Sqrt", "Erf", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Not", "LeakyRelu", "Gelu",
             "Sign", "Softplus", "HardSigmoid", "Elu", "Sin", "Cos", "HardSwish", "Selu",
             "Acos", "Asin", "Atan", "Acosh", "Asinh", "Atanh", "Sinh", "Cosh", "Tan", "Round", "Softsign", "Mish",
             "Celu", "ThresholdedRelu", "Shrink":
            return try compileUnary()
        case "Clip": return try compileClip()
        case "Cast": return try compileCast()
        case "Where": return try compileWhere()
        case "Shape": return try compileShape()
        case "Size": return try compileSize()
        case "Gather": return try compileGather()
        case "Concat": return try compileConcat()
        case "Slice": return try compileSlice()
        case "Split": return try compileSplit()
        case "Squeeze": return try compileSqueeze()
        case "Unsqueeze": return try compileUnsqueeze()
        case "Transpose": return try compileTranspose()
        case "Expand": return try compileExpand()
        case "ConstantOfShape": return try compileConstantOfShape()
        case "Range": return try compileRange()
        case "Trilu": return try compileTrilu()
        case "Tile": return try compileTile()
        case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL2",
             "ReduceL1", "ReduceLogSum", "ReduceLogSumExp":
            return try compileReduce()
        case "LayerNormalization": return try compileLayerNorm()
        case "BatchNormalization": return try compileBatchNorm()
        case "Conv": return try compileConv()
        case "MaxPool", "AveragePool": return try compilePool()
        case "GlobalAveragePool", "GlobalMaxPool": return try compileGlobalPool()
        case "LSTM", "GRU", "RNN": return try compileRecurrent()
        case "InstanceNormalization", "GroupNormalization": return try compileGroupNorm()
        case "ConvTranspose": return try compileConvTranspose()
        case "Dropout": return try compileDropout()
        case "LogSoftmax": return try compileLogSoftmax()
        case "ArgMax", "ArgMin": return try compileArgReduce()
        case "Pad": return try compilePad()
        case "CumSum": return try compileCumSum()
        case "PRelu": return try compilePRelu()
        case "CastLike": return try compileCastLike()
        case "IsNaN", "IsInf": return try compileIsSpecial()
        case "GatherElements": return try compileGatherElements()
        case "ScatterElements", "ScatterND": return try compileScatter()
        case "TopK": return try compileTopK()
        case "OneHot": return try compileOneHot()
        case "Hardmax": return try compileHardmax()
        case "EyeLike": return try compileEyeLike()
        case "DepthToSpace", "SpaceToDepth": return try compileDepthSpace()
        default: return nil
        }
    }

    // MARK: Helpers

    /// Checks the number of present inputs and of outputs.
    func checkArity(_ minInputs: Int, _ maxInputs: Int, outputs: ClosedRange<Int> = 1...1) throws(ModelLoadError) {
        var count = node.inputs.count
        while count > 0, node.inputs[count - 1].isEmpty { count -= 1 }
        guard count >= minInputs, count <= maxInputs else {
            throw fail("expects \(minInputs == maxInputs ? "\(minInputs)" : "\(minInputs) to \(maxInputs)") inputs, got \(count)")
        }
        guard outputs.contains(node.outputs.count) else {
            throw fail("expects \(outputs.lowerBound == outputs.upperBound ? "\(outputs.lowerBound)" : "\(outputs.lowerBound) to \(outputs.upperBound)") outputs, got \(node.outputs.count)")
        }
        for i in 0..<minInputs where node.inputs[i].isEmpty { throw fail("required input #\(i) is empty") }
    }

    /// A required input of one of `types`.
    func input(_ index: Int, _ types: Set<ElementType>) throws(ModelLoadError) -> ValueFacts {
        guard index < inputs.count, let facts = inputs[index] else { throw fail("missing input #\(index)") }
        guard types.contains(facts.type) else {
            let names = types.map(\.onnxName).sorted().joined(separator: ", ")
            throw fail("input '\(node.inputs[index])' has element type \(facts.type.onnxName); expected \(names)")
        }
        return facts
    }

    /// An optional input (nil when omitted).
    func optionalInput(_ index: Int, _ types: Set<ElementType>) throws(ModelLoadError) -> ValueFacts? {
        guard index < inputs.count, inputs[index] != nil else { return nil }
        return try input(index, types)
    }

    /// The values of a constant integer input, or nil if it is not a constant.
    func constantInts(_ index: Int) -> [Int64]? {
        guard index < inputs.count, let f = inputs[index], let c = f.constant,
              c.elementType == .int64 || c.elementType == .int32 else { return nil }
        return c.storage.int64Values
    }

    func normalizeAxis(_ axis: Int64, rank: Int, inclusiveEnd: Bool = false) throws(ModelLoadError) -> Int {
        let upper = Int64(inclusiveEnd ? rank + 1 : rank)
        guard axis >= -upper, axis < upper else { throw fail("axis \(axis) is out of range for rank \(rank)") }
        return Int(axis < 0 ? axis + upper : axis)
    }

    func ints(_ attrs: AttributeSet, _ name: String) throws(ModelLoadError) -> [Int64]? {
        guard let a = attrs.byName[name] else { return nil }
        guard a.kind == .ints else { throw fail("attribute '\(name)' must be INTS") }
        return a.ints
    }

    func string(_ attrs: AttributeSet, _ name: String, default value: String) throws(ModelLoadError) -> String {
        guard let a = attrs.byName[name] else { return value }
        guard a.kind == .string else { throw fail("attribute '\(name)' must be a STRING") }
        return String(decoding: a.s, as: UTF8.self)
    }

    /// The length of a 1-D shape-like input when known at load (constant or fixed dimension).
    func vectorLength(_ f: ValueFacts) throws(ModelLoadError) -> Int {
        guard f.shape.rank == 1 else { throw fail("shape input must be 1-D, got \(f.shape.description)") }
        guard let n = f.shape.dims[0].fixedValue else {
            throw fail("the length of the shape input '\(f.shape.description)' must be known at load to infer the output rank")
        }
        guard n <= ONNXLimits.maxRank else { throw fail("target rank \(n) exceeds \(ONNXLimits.maxRank)") }
        return n
    }

    static func unknown(rank: Int) -> InferredShape { InferredShape([InferredShape.Dim](repeating: .unknown, count: rank)) }
}
