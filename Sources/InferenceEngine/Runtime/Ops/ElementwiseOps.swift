#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Compile

extension OperatorCompiler {
    func broadcastShape(_ shapes: [InferredShape]) throws(ModelLoadError) -> InferredShape {
        var dims: [InferredShape.Dim] = []
        for s in shapes {
            guard let d = InferredShape.broadcast(dims, s.dims) else {
                throw fail("input shapes \(shapes.map(\.description).joined(separator: " and ")) cannot be broadcast together")
            }
            dims = d
        }
        return InferredShape(dims)
    }

    func compileBinary() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let op = BinaryKernel.Op(rawValue: node.opType)!
        var allowed: Set<ElementType>
        switch op {
        case .and, .or, .xor: allowed = [.bool]
        case .equal: allowed = Self.allTypes
        default: allowed = Self.numericTypes
        }
        let a = try input(0, allowed)
        let b = try input(1, op == .pow ? Self.numericTypes : allowed)
        if op != .pow, a.type != b.type {
            throw fail("inputs have different element types \(a.type.onnxName) and \(b.type.onnxName)")
        }
        let attrs = try attributes(op == .mod ? ["fmod"] : [])
        let fmod = try attrs.flag("fmod")
        if op == .mod, a.type == .float32, !fmod { throw fail("fmod=0 is not defined for FLOAT inputs (set fmod=1)") }
        let shape = try broadcastShape([a.shape, b.shape])
        let outType: ElementType
        switch op {
        case .equal, .less, .greater, .lessOrEqual, .greaterOrEqual, .and, .or, .xor: outType = .bool
        default: outType = a.type
        }
        return (BinaryKernel(op: op, fmod: fmod), [shape], [outType])
    }

    /// Max, Min, Sum, Mean over 1...N inputs with multidirectional broadcasting.
    func compileVariadic() throws(ModelLoadError) -> Compiled {
        guard !node.inputs.isEmpty, node.outputs.count == 1, !node.inputs.contains("") else { throw fail("expects ≥ 1 inputs and 1 output") }
        let numeric = node.opType == "Max" || node.opType == "Min" ? Self.numericTypes : [ElementType.float32]
        let first = try input(0, numeric)
        var shapes = [first.shape]
        for i in 1..<node.inputs.count { shapes.append(try input(i, [first.type]).shape) }
        _ = try attributes([])
        let op: BinaryKernel.Op = node.opType == "Max" ? .max : (node.opType == "Min" ? .min : .add)
        return (VariadicKernel(op: op, mean: node.opType == "Mean"), [try broadcastShape(shapes)], [first.type])
    }

    func compileUnary() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let op = UnaryKernel.Op(rawValue: node.opType)!
        var allowed: Set<ElementType> = [.float32]
        switch op {
        case .neg, .abs, .sign: allowed = [.float32, .int64, .int32]
        case .not: allowed = [.bool]
        default: break
        }
        let x = try input(0, allowed)
        var alpha: Float = 0, beta: Float = 0, approximateTanh = false
        switch op {
        case .leakyRelu:
            let attrs = try attributes(["alpha"])
            alpha = try attrs.float("alpha", default: 0.01)
        case .elu:
            let attrs = try attributes(["alpha"])
            alpha = try attrs.float("alpha", default: 1)
        case .celu:
            let attrs = try attributes(["alpha"])
            alpha = try attrs.float("alpha", default: 1)
        case .thresholdedRelu:
            let attrs = try attributes(["alpha"])
            alpha = try attrs.float("alpha", default: 1)
        case .shrink:
            let attrs = try attributes(["bias", "lambd"])
            alpha = try attrs.float("lambd", default: 0.5)
            beta = try attrs.float("bias", default: 0)
        case .selu:
            let attrs = try attributes(["alpha", "gamma"])
            alpha = try attrs.float("alpha", default: 1.67326319217681884765625)
            beta = try attrs.float("gamma", default: 1.05070102214813232421875)
        case .hardSigmoid:
            let attrs = try attributes(["alpha", "beta"])
            alpha = try attrs.float("alpha", default: 0.2)
            beta = try attrs.float("beta", default: 0.5)
        case .gelu:
            guard opset >= 20 else { throw fail("Gelu is an opset 20 operator; the model imports opset \(opset)") }
            let attrs = try attributes(["approximate"])
            let mode = try string(attrs, "approximate", default: "none")
            guard mode == "none" || mode == "tanh" else { throw fail("unsupported value approximate='\(mode)' (none or tanh)") }
            approximateTanh = mode == "tanh"
        default:
            _ = try attributes([])
        }
        return (UnaryKernel(op: op, alpha: alpha, beta: beta, approximateTanh: approximateTanh), [x.shape], [x.type])
    }

    func compileClip() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 3)
        let x = try input(0, Self.numericTypes)
        _ = try optionalInput(1, [x.type]); _ = try optionalInput(2, [x.type])
        for i in 1..<min(3, inputs.count) {
            if let f = inputs[i], f.shape.rank != 0, !(f.shape.rank == 1 && f.shape.dims[0] == .fixed(1)) {
                throw fail("min/max must be scalars, got \(f.shape.description)")
            }
        }
        _ = try attributes([])
        return (ClipKernel(), [x.shape], [x.type])
    }

    func compileCast() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(["to", "saturate", "round_mode"])
        let to = try attrs.int("to", default: 0)
        guard let type = ElementType(onnxDataType: Int32(truncatingIfNeeded: to)) else { throw fail("invalid target type \(to)") }
        guard TensorStorage.supportedTypes.contains(type) else {
            throw fail("cast to \(type.onnxName) is not supported (FLOAT, INT64, INT32 and BOOL are)")
        }
        return (CastKernel(to: type), [x.shape], [type])
    }

    func compileWhere() throws(ModelLoadError) -> Compiled {
        try checkArity(3, 3)
        let c = try input(0, [.bool])
        let x = try input(1, Self.allTypes)
        let y = try input(2, [x.type])
        _ = try attributes([])
        return (WhereKernel(), [try broadcastShape([c.shape, x.shape, y.shape])], [x.type])
    }

    func compileIdentity() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        _ = try attributes([])
        return (IdentityKernel(), [x.shape], [x.type])
    }

    func compileDropout() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 3, outputs: 1...2)
        let x = try input(0, [.float32])
        _ = try attributes(["seed", "ratio"])
        if let training = inputs.count > 2 ? inputs[2] : nil {
            guard let c = training.constant, c.storage.int64Values.allSatisfy({ $0 == 0 }) else {
                throw fail("training_mode must be a constant false for inference")
            }
        }
        return (IdentityKernel(mask: node.outputs.count > 1 && !node.outputs[1].isEmpty), [x.shape, x.shape], [x.type, .bool])
    }
}

// MARK: Kernels

struct IdentityKernel: NodeKernel {
    var mask = false
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        if mask { return [x, Tensor(shape: x.shape, storage: .bool([Bool](repeating: true, count: x.elementCount)))] }
        return [x]
    }
}

extension NodeExecutor {
    func required(_ inputs: [Tensor?], _ i: Int) throws(InferenceError) -> Tensor {
        guard i < inputs.count, let t = inputs[i] else {
            throw .internalFailure("node '\(node.name)' (\(node.opType)): missing input #\(i)")
        }
        return t
    }

    func broadcast(_ shapes: [[Int]]) throws(InferenceError) -> [Int] {
        var out: [Int] = []
        for s in shapes {
            guard let b = Broadcast.shape(out, s) else {
                throw invalid("shapes \(shapes.map(\.shapeDescription).joined(separator: " and ")) cannot be broadcast together")
            }
            out = b
        }
        _ = try checkedCount(out)
        return out
    }
}

// Every kernel below keeps its arithmetic in one pointer-level `compute` that the general
// executor calls on tensor storage and the bound kernel of an execution plan calls on arena
// addresses, so planned and unplanned runs give the same bits.

struct BinaryKernel: NodeKernel {
    enum Op: String, Sendable {
        case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow", mod = "Mod"
        case equal = "Equal", less = "Less", greater = "Greater", lessOrEqual = "LessOrEqual", greaterOrEqual = "GreaterOrEqual"
        case and = "And", or = "Or", xor = "Xor", max = "Max", min = "Min"
    }
    let op: Op
    let fmod: Bool

    /// The result's element type when `a` has `type`.
    func outputType(_ type: ElementType) -> ElementType {
        switch op {
        case .equal, .less, .greater, .lessOrEqual, .greaterOrEqual, .and, .or, .xor: .bool
        default: type
        }
    }

    /// Whether ``compute(_:_:_:_:_:_:)`` handles these operand types.
    func supports(_ a: ElementType, _ b: ElementType) -> Bool {
        switch (a, b) {
        case (.float32, .float32): op != .and && op != .or && op != .xor
        case (.float32, .int64), (.float32, .int32), (.int64, .float32), (.int32, .float32): op == .pow
        case (.int64, .int64), (.int32, .int32): op != .and && op != .or && op != .xor
        case (.int64, .int32), (.int32, .int64): op == .pow
        case (.bool, .bool): op == .and || op == .or || op == .xor || op == .greater || op == .equal
        default: false
        }
    }

    /// Whether integer division would divide by zero (checked before ``compute``, which must
    /// not trap): `b` holds `count` elements of `type`.
    func dividesByZero(_ b: UnsafeRawPointer, _ type: ElementType, count: Int) -> Bool {
        guard op == .div || op == .mod else { return false }
        switch type {
        case .int64: let p = b.assumingMemoryBound(to: Int64.self); for i in 0..<count where p[i] == 0 { return true }
        case .int32: let p = b.assumingMemoryBound(to: Int32.self); for i in 0..<count where p[i] == 0 { return true }
        default: break
        }
        return false
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let a = try node.required(inputs, 0), b = try node.required(inputs, 1)
        let shape = try node.broadcast([a.shape, b.shape])
        guard supports(a.elementType, b.elementType) else {
            if a.elementType == .bool { throw node.invalid("\(op.rawValue) is not defined for BOOL") }
            if op == .and || op == .or || op == .xor { throw node.invalid("\(op.rawValue) needs BOOL inputs") }
            throw node.invalid("unsupported element types \(a.elementType) and \(b.elementType)")
        }
        let pattern = BroadcastPattern(a.shape, b.shape, outShape: shape)
        let y = try node.outputTensor(shape, outputType(a.elementType)) { y throws(InferenceError) in
            try a.withElements { pa throws(InferenceError) in
                try b.withElements { pb throws(InferenceError) in
                    if a.elementType != .float32, dividesByZero(pb, b.elementType, count: b.elementCount) {
                        throw node.invalid("integer division by zero")
                    }
                    compute(pa, a.elementType, pb, b.elementType, y, pattern)
                }
            }
        }
        return [y]
    }

    /// `y = a ∘ b` with the broadcast `pattern`; the types must pass ``supports(_:_:)``.
    func compute(_ a: UnsafeRawPointer, _ aType: ElementType, _ b: UnsafeRawPointer, _ bType: ElementType,
                 _ y: UnsafeMutableRawPointer, _ pattern: BroadcastPattern) {
        switch (aType, bType) {
        case (.float32, .float32):
            floatOp(a.assumingMemoryBound(to: Float.self), b.assumingMemoryBound(to: Float.self), y, pattern)
        case (.float32, .int64):   // Pow with an integer exponent
            pattern.map(a.assumingMemoryBound(to: Float.self), b.assumingMemoryBound(to: Int64.self),
                        y.assumingMemoryBound(to: Float.self)) { powf($0, Float($1)) }
        case (.float32, .int32):
            pattern.map(a.assumingMemoryBound(to: Float.self), b.assumingMemoryBound(to: Int32.self),
                        y.assumingMemoryBound(to: Float.self)) { powf($0, Float($1)) }
        case (.int64, .float32):
            integerPow(a.assumingMemoryBound(to: Int64.self), b.assumingMemoryBound(to: Float.self), y, pattern)
        case (.int32, .float32):
            integerPow(a.assumingMemoryBound(to: Int32.self), b.assumingMemoryBound(to: Float.self), y, pattern)
        case (.int64, .int64):
            intOp(a.assumingMemoryBound(to: Int64.self), b.assumingMemoryBound(to: Int64.self), y, pattern)
        case (.int32, .int32):
            intOp(a.assumingMemoryBound(to: Int32.self), b.assumingMemoryBound(to: Int32.self), y, pattern)
        case (.int64, .int32):
            intOp(a.assumingMemoryBound(to: Int64.self), b.assumingMemoryBound(to: Int32.self), y, pattern)
        case (.int32, .int64):
            intOp(a.assumingMemoryBound(to: Int32.self), b.assumingMemoryBound(to: Int64.self), y, pattern)
        case (.bool, .bool):
            let pa = a.assumingMemoryBound(to: Bool.self), pb = b.assumingMemoryBound(to: Bool.self)
            let py = y.assumingMemoryBound(to: Bool.self)
            switch op {
            case .and: pattern.map(pa, pb, py) { $0 && $1 }
            case .or: pattern.map(pa, pb, py) { $0 || $1 }
            case .xor, .greater: pattern.map(pa, pb, py) { $0 != $1 }
            case .equal: pattern.map(pa, pb, py) { $0 == $1 }
            default: break
            }
        default:
            break
        }
    }

    private func floatOp(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ p: BroadcastPattern) {
        let out = y.assumingMemoryBound(to: Float.self), flags = y.assumingMemoryBound(to: Bool.self)
        switch op {
        case .add: p.apply(.add, a, b, out)
        case .sub: p.apply(.sub, a, b, out)
        case .mul: p.apply(.mul, a, b, out)
        case .div: p.apply(.div, a, b, out)
        case .pow: p.map(a, b, out) { a, b in b == 2 ? a * a : (b == 0.5 ? sqrtf(a) : powf(a, b)) }
        case .mod: p.map(a, b, out) { fmodf($0, $1) }
        case .max: p.map(a, b, out) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        case .min: p.map(a, b, out) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        case .equal: p.map(a, b, flags) { $0 == $1 }
        case .less: p.map(a, b, flags) { $0 < $1 }
        case .greater: p.map(a, b, flags) { $0 > $1 }
        case .lessOrEqual: p.map(a, b, flags) { $0 <= $1 }
        case .greaterOrEqual: p.map(a, b, flags) { $0 >= $1 }
        case .and, .or, .xor: break
        }
    }

    /// Integer base, float exponent: computed in double and truncated, as onnxruntime does.
    private func integerPow<T: FixedWidthInteger & SignedInteger>(_ a: UnsafePointer<T>, _ b: UnsafePointer<Float>,
                                                                  _ y: UnsafeMutableRawPointer, _ p: BroadcastPattern) {
        p.map(a, b, y.assumingMemoryBound(to: T.self)) { base, e in
            T(truncatingIfNeeded: TensorStorage.floatToInt64(Float(doublePow(Double(base), Double(e)))))
        }
    }

    /// `b` is converted to `a`'s type (only Pow mixes integer widths).
    private func intOp<A: FixedWidthInteger & SignedInteger, B: FixedWidthInteger & SignedInteger>(
        _ a: UnsafePointer<A>, _ b: UnsafePointer<B>, _ y: UnsafeMutableRawPointer, _ p: BroadcastPattern
    ) {
        let out = y.assumingMemoryBound(to: A.self), flags = y.assumingMemoryBound(to: Bool.self)
        @inline(__always) func c(_ v: B) -> A { A(truncatingIfNeeded: v) }
        switch op {
        case .add: p.map(a, b, out) { $0 &+ c($1) }
        case .sub: p.map(a, b, out) { $0 &- c($1) }
        case .mul: p.map(a, b, out) { $0 &* c($1) }
        // Zero divisors were refused before (dividesByZero); the guard only keeps a bug from trapping.
        case .div: p.map(a, b, out) { x, v in let d = c(v); return d == 0 ? 0 : (d == -1 ? 0 &- x : x / d) }
        case .mod where fmod: p.map(a, b, out) { x, v in let d = c(v); return d == 0 || d == -1 ? 0 : x % d }
        case .mod:
            p.map(a, b, out) { x, v in
                let d = c(v)
                if d == 0 || d == -1 { return 0 }
                let r = x % d
                return r != 0 && ((r < 0) != (d < 0)) ? r + d : r
            }
        case .pow:
            p.map(a, b, out) { x, v in
                let e0 = c(v)
                guard e0 >= 0 else { return 0 }
                var result: A = 1, base = x, e = e0
                while e > 0 { if e & 1 == 1 { result = result &* base }; base = base &* base; e >>= 1 }
                return result
            }
        case .max: p.map(a, b, out) { Swift.max($0, c($1)) }
        case .min: p.map(a, b, out) { Swift.min($0, c($1)) }
        case .equal: p.map(a, b, flags) { $0 == c($1) }
        case .less: p.map(a, b, flags) { $0 < c($1) }
        case .greater: p.map(a, b, flags) { $0 > c($1) }
        case .lessOrEqual: p.map(a, b, flags) { $0 <= c($1) }
        case .greaterOrEqual: p.map(a, b, flags) { $0 >= c($1) }
        case .and, .or, .xor: break
        }
    }
}

@inline(__always) func doublePow(_ a: Double, _ b: Double) -> Double { pow(a, b) }

/// Sum, Mean, Max and Min of one or more inputs with multidirectional broadcasting: the first
/// two inputs are combined into the output, every further one into the output in place, which
/// is the left-to-right pairwise order of the definition.
struct VariadicKernel: NodeKernel {
    let op: BinaryKernel.Op
    let mean: Bool

    /// One pattern per combining step: inputs 0 and 1, then (output, input i) for i ≥ 2.
    static func patterns(_ shapes: [[Int]], outShape: [Int]) -> [BroadcastPattern] {
        guard shapes.count > 1 else { return [] }
        return [BroadcastPattern(shapes[0], shapes[1], outShape: outShape)]
            + shapes.dropFirst(2).map { BroadcastPattern(outShape, $0, outShape: outShape) }
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var tensors: [Tensor] = []
        for i in inputs.indices { tensors.append(try node.required(inputs, i)) }
        let type = tensors[0].elementType
        guard tensors.allSatisfy({ $0.elementType == type }), BinaryKernel(op: op, fmod: false).supports(type, type) else {
            throw node.invalid("unsupported element types \(tensors.map(\.elementType))")
        }
        let shape = try node.broadcast(tensors.map(\.shape))
        let patterns = Self.patterns(tensors.map(\.shape), outShape: shape)
        let y = try node.outputTensor(shape, type) { y throws(InferenceError) in
            try Tensor.withElements(of: tensors) { pointers in
                compute({ pointers[$0] }, type, y, patterns, count: ShapeMath.product(shape, 0..<shape.count))
            }
        }
        return [y]
    }

    /// `input(i)` gives input i's elements, all of `type`; `y` holds `count` elements.
    @inline(__always)
    func compute(_ input: (Int) -> UnsafeRawPointer, _ type: ElementType, _ y: UnsafeMutableRawPointer,
                 _ patterns: [BroadcastPattern], count: Int) {
        guard let first = patterns.first else {
            // One input: the output is that input.
            y.copyMemory(from: input(0), byteCount: count * (type.byteWidth ?? 4))
            return
        }
        let binary = BinaryKernel(op: op, fmod: false)
        binary.compute(input(0), type, input(1), type, y, first)
        for i in 1..<patterns.count {
            binary.compute(UnsafeRawPointer(y), type, input(i + 1), type, y, patterns[i])
        }
        if mean && type == .float32 {
            let v = y.assumingMemoryBound(to: Float.self), s = 1 / Float(patterns.count + 1)
            for i in 0..<count { v[i] *= s }
        }
    }
}

struct UnaryKernel: NodeKernel {
    enum Op: String, Sendable {
        case sqrt = "Sqrt", erf = "Erf", exp = "Exp", log = "Log", neg = "Neg", abs = "Abs", reciprocal = "Reciprocal"
        case floor = "Floor", ceil = "Ceil", not = "Not", leakyRelu = "LeakyRelu", gelu = "Gelu", sign = "Sign"
        case softplus = "Softplus", hardSigmoid = "HardSigmoid", elu = "Elu", sin = "Sin", cos = "Cos"
        case hardSwish = "HardSwish", selu = "Selu"
        case acos = "Acos", asin = "Asin", atan = "Atan", acosh = "Acosh", asinh = "Asinh", atanh = "Atanh"
        case sinh = "Sinh", cosh = "Cosh", tan = "Tan", round = "Round", softsign = "Softsign", mish = "Mish"
        case celu = "Celu", thresholdedRelu = "ThresholdedRelu", shrink = "Shrink"
    }
    let op: Op
    let alpha: Float
    let beta: Float
    let approximateTanh: Bool

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let y = try node.outputTensor(x.shape, x.elementType) { y throws(InferenceError) in
            try x.withElements { px in compute(px, x.elementType, y, count: x.elementCount) }
        }
        return [y]
    }

    /// `count` elements of `type` from `x` to `y` (which may be `x`).
    func compute(_ x: UnsafeRawPointer, _ type: ElementType, _ y: UnsafeMutableRawPointer, count: Int) {
        switch type {
        case .float32: float(x.assumingMemoryBound(to: Float.self), y.assumingMemoryBound(to: Float.self), count)
        case .int64: integer(x.assumingMemoryBound(to: Int64.self), y.assumingMemoryBound(to: Int64.self), count)
        case .int32: integer(x.assumingMemoryBound(to: Int32.self), y.assumingMemoryBound(to: Int32.self), count)
        case .bool:
            let px = x.assumingMemoryBound(to: Bool.self), py = y.assumingMemoryBound(to: Bool.self)
            for i in 0..<count { py[i] = !px[i] }
        default: break
        }
    }

    private func integer<T: FixedWidthInteger & SignedInteger>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
        switch op {
        case .neg: for i in 0..<count { y[i] = 0 &- x[i] }
        case .abs: for i in 0..<count { y[i] = x[i] < 0 ? 0 &- x[i] : x[i] }
        default: for i in 0..<count { y[i] = x[i].signum() }
        }
    }

    private func float(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        let a = alpha, b = beta
        // The operator switch sits outside the loops, so each loop is one operation.
        @inline(__always) func each(_ f: (Float) -> Float) { for i in 0..<count { y[i] = f(x[i]) } }
        switch op {
        // The transcendental activations of transformer blocks run 16 lanes at a time (FastMath).
        case .erf: FastMath.map(x, y, count: count, FastMath.erf)
        case .gelu: FastMath.map(x, y, count: count, EpilogueActivation.gelu(approximateTanh: approximateTanh).apply)
        case .leakyRelu: FastMath.map(x, y, count: count, EpilogueActivation.leakyRelu(alpha: alpha).apply)
        case .sqrt: each { sqrtf($0) }
        case .exp: each { expf($0) }
        case .log: each { logf($0) }
        case .neg: each { -$0 }
        case .abs: each { Swift.abs($0) }
        case .reciprocal: each { 1 / $0 }
        case .floor: each { floorf($0) }
        case .ceil: each { ceilf($0) }
        case .sign: each { $0 > 0 ? 1 : ($0 < 0 ? -1 : ($0.isNaN ? $0 : 0)) }
        case .elu: each { $0 >= 0 ? $0 : a * (expf($0) - 1) }
        case .hardSigmoid: each { Swift.max(0, Swift.min(1, a * $0 + b)) }
        case .softplus: each { $0 > 20 ? $0 : log1pf(expf($0)) }
        case .sin: each { sinf($0) }
        case .hardSwish: each { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
        case .acos: each { acosf($0) }
        case .asin: each { asinf($0) }
        case .atan: each { atanf($0) }
        case .acosh: each { acoshf($0) }
        case .asinh: each { asinhf($0) }
        case .atanh: each { atanhf($0) }
        case .sinh: each { sinhf($0) }
        case .cosh: each { coshf($0) }
        case .tan: each { tanf($0) }
        case .round: each { rintf($0) }   // half to even
        case .softsign: each { $0 / (1 + Swift.abs($0)) }
        case .mish: each { $0 * tanhf($0 > 20 ? $0 : log1pf(expf($0))) }
        case .celu: each { Swift.max(0, $0) + Swift.min(0, a * (expf($0 / a) - 1)) }
        case .thresholdedRelu: each { $0 > a ? $0 : 0 }
        case .shrink: each { $0 < -a ? $0 + b : ($0 > a ? $0 - b : 0) }
        case .selu: each { $0 > 0 ? b * $0 : b * (a * expf($0) - a) }
        case .cos: each { cosf($0) }
        case .not: if UnsafePointer(y) != x { y.update(from: x, count: count) }
        }
    }
}

struct ClipKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let lo = inputs.count > 1 ? inputs[1] : nil, hi = inputs.count > 2 ? inputs[2] : nil
        for t in [lo, hi] where t != nil && (t!.elementCount != 1 || t!.elementType != x.elementType) {
            throw node.invalid("min/max must be scalars of the input's type")
        }
        let y = try node.outputTensor(x.shape, x.elementType) { y throws(InferenceError) in
            try x.withElements { px throws(InferenceError) in
                try Tensor.withElements(of: lo) { pl throws(InferenceError) in
                    try Tensor.withElements(of: hi) { ph in Self.compute(px, x.elementType, pl, ph, y, count: x.elementCount) }
                }
            }
        }
        return [y]
    }

    /// Clamps `count` elements of `type` to the scalars at `lo` and `hi` (no bound where nil).
    static func compute(_ x: UnsafeRawPointer, _ type: ElementType, _ lo: UnsafeRawPointer?, _ hi: UnsafeRawPointer?,
                        _ y: UnsafeMutableRawPointer, count: Int) {
        switch type {
        case .float32:
            let l = lo?.load(as: Float.self) ?? -Float.infinity, h = hi?.load(as: Float.self) ?? Float.infinity
            FastMath.map(x.assumingMemoryBound(to: Float.self), y.assumingMemoryBound(to: Float.self), count: count,
                         EpilogueActivation.clip(min: l, max: h).apply)
        case .int64: clamp(x.assumingMemoryBound(to: Int64.self), lo, hi, y.assumingMemoryBound(to: Int64.self), count)
        case .int32: clamp(x.assumingMemoryBound(to: Int32.self), lo, hi, y.assumingMemoryBound(to: Int32.self), count)
        default: break
        }
    }

    private static func clamp<T: FixedWidthInteger>(_ x: UnsafePointer<T>, _ lo: UnsafeRawPointer?, _ hi: UnsafeRawPointer?,
                                                    _ y: UnsafeMutablePointer<T>, _ count: Int) {
        let l = lo?.load(as: T.self) ?? T.min, h = hi?.load(as: T.self) ?? T.max
        for i in 0..<count { y[i] = Swift.min(Swift.max(x[i], l), h) }
    }
}

struct CastKernel: NodeKernel {
    let to: ElementType

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        guard Self.converts(x.elementType, to) else { throw node.invalid("cannot cast \(x.elementType) to \(to)") }
        let y = try node.outputTensor(x.shape, to) { y throws(InferenceError) in
            try x.withElements { px in Self.convert(px, x.elementType, y, to, count: x.elementCount) }
        }
        return [y]
    }

    static func converts(_ from: ElementType, _ to: ElementType) -> Bool {
        TensorStorage.supportedTypes.contains(from) && TensorStorage.supportedTypes.contains(to)
    }

    /// ONNX Cast of `count` elements, with the semantics of ``TensorStorage/cast(to:)``: float to
    /// integer truncates toward zero (NaN and out of range give Int64.min, truncated for INT32),
    /// anything non-zero is true.
    static func convert(_ x: UnsafeRawPointer, _ from: ElementType, _ y: UnsafeMutableRawPointer, _ to: ElementType, count: Int) {
        if from == to {
            if UnsafeRawPointer(y) != x { y.copyMemory(from: x, byteCount: count * (from.byteWidth ?? 4)) }
            return
        }
        switch from {
        case .float32: convert(x.assumingMemoryBound(to: Float.self), y, to, count)
        case .int64: convert(x.assumingMemoryBound(to: Int64.self), y, to, count)
        case .int32: convert(x.assumingMemoryBound(to: Int32.self), y, to, count)
        case .bool: convert(x.assumingMemoryBound(to: UInt8.self), y, to, count)
        default: break
        }
    }

    private static func convert<T: CastSource>(_ x: UnsafePointer<T>, _ y: UnsafeMutableRawPointer, _ to: ElementType, _ count: Int) {
        switch to {
        case .float32: let p = y.assumingMemoryBound(to: Float.self); for i in 0..<count { p[i] = x[i].floatValue }
        case .int64: let p = y.assumingMemoryBound(to: Int64.self); for i in 0..<count { p[i] = x[i].int64Value }
        case .int32: let p = y.assumingMemoryBound(to: Int32.self); for i in 0..<count { p[i] = Int32(truncatingIfNeeded: x[i].int64Value) }
        case .bool: let p = y.assumingMemoryBound(to: Bool.self); for i in 0..<count { p[i] = x[i].isNonZero }
        default: break
        }
    }
}

/// An element type Cast reads (BOOL as its byte, 0 or 1).
protocol CastSource {
    var floatValue: Float { get }
    var int64Value: Int64 { get }
    var isNonZero: Bool { get }
}

extension Float: CastSource {
    var floatValue: Float { self }
    var int64Value: Int64 { TensorStorage.floatToInt64(self) }
    var isNonZero: Bool { self != 0 }
}

extension Int64: CastSource {
    var floatValue: Float { Float(self) }
    var int64Value: Int64 { self }
    var isNonZero: Bool { self != 0 }
}

extension Int32: CastSource {
    var floatValue: Float { Float(self) }
    var int64Value: Int64 { Int64(self) }
    var isNonZero: Bool { self != 0 }
}

extension UInt8: CastSource {
    var floatValue: Float { self != 0 ? 1 : 0 }
    var int64Value: Int64 { self != 0 ? 1 : 0 }
    var isNonZero: Bool { self != 0 }
}

struct WhereKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let c = try node.required(inputs, 0), x = try node.required(inputs, 1), y = try node.required(inputs, 2)
        guard c.elementType == .bool else { throw node.invalid("condition must be BOOL") }
        guard x.elementType == y.elementType, let width = x.elementType.byteWidth else {
            throw node.invalid("X and Y have different element types")
        }
        let shape = try node.broadcast([c.shape, x.shape, y.shape])
        let pattern = BroadcastPattern([c.shape, x.shape, y.shape], outShape: shape)
        let out = try node.outputTensor(shape, x.elementType) { out throws(InferenceError) in
            try Tensor.withElements(of: [c, x, y]) { p in Self.compute(p[0], p[1], p[2], out, width: width, pattern) }
        }
        return [out]
    }

    /// Picks elements by their bytes, so one loop per element width serves every type.
    static func compute(_ c: UnsafeRawPointer, _ x: UnsafeRawPointer, _ y: UnsafeRawPointer, _ out: UnsafeMutableRawPointer,
                        width: Int, _ pattern: BroadcastPattern) {
        switch width {
        case 1: select(c, x, y, out, UInt8.self, pattern)
        case 2: select(c, x, y, out, UInt16.self, pattern)
        case 4: select(c, x, y, out, UInt32.self, pattern)
        default: select(c, x, y, out, UInt64.self, pattern)
        }
    }

    @inline(__always)
    private static func select<T>(_ c: UnsafeRawPointer, _ x: UnsafeRawPointer, _ y: UnsafeRawPointer,
                                  _ out: UnsafeMutableRawPointer, _: T.Type, _ pattern: BroadcastPattern) {
        pattern.map(c.assumingMemoryBound(to: Bool.self), x.assumingMemoryBound(to: T.self), y.assumingMemoryBound(to: T.self),
                    out.assumingMemoryBound(to: T.self)) { $0 ? $1 : $2 }
    }
}
