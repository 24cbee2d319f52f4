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

struct BinaryKernel: NodeKernel {
    enum Op: String, Sendable {
        case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow", mod = "Mod"
        case equal = "Equal", less = "Less", greater = "Greater", lessOrEqual = "LessOrEqual", greaterOrEqual = "GreaterOrEqual"
        case and = "And", or = "Or", xor = "Xor", max = "Max", min = "Min"
    }
    let op: Op
    let fmod: Bool

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let a = try node.required(inputs, 0), b = try node.required(inputs, 1)
        let shape = try node.broadcast([a.shape, b.shape])
        let out: TensorStorage
        switch (a.storage, b.storage) {
        case (.float32(let x), .float32(let y)):
            out = floatOp(x, a.shape, y, b.shape, shape)
        case (.float32(let x), _):   // Pow with an integer exponent
            out = .float32(Generic.map2(x, a.shape, b.storage.floatValues, b.shape, shape) { powf($0, $1) })
        case (_, .float32(let y)) where op == .pow:   // integer base, float exponent: computed in double, truncated
            let base = a.storage.int64Values.map(Double.init)
            let r = Generic.map2(base, a.shape, y, b.shape, shape) { p, e in TensorStorage.floatToInt64(Float(doublePow(p, Double(e)))) }
            out = TensorStorage.int64(r).cast(to: a.elementType)
        case (.int64(let x), .int64(let y)):
            out = try intOp(x, a.shape, y, b.shape, shape, node, wrap: TensorStorage.int64)
        case (.int32(let x), .int32(let y)):
            out = try intOp(x, a.shape, y, b.shape, shape, node, wrap: TensorStorage.int32)
        case (.int64(let x), .int32(let y)):
            out = try intOp(x, a.shape, y.map(Int64.init), b.shape, shape, node, wrap: TensorStorage.int64)
        case (.int32(let x), .int64(let y)):
            out = try intOp(x, a.shape, y.map { Int32(truncatingIfNeeded: $0) }, b.shape, shape, node, wrap: TensorStorage.int32)
        case (.bool(let x), .bool(let y)):
            switch op {
            case .and: out = .bool(Generic.map2(x, a.shape, y, b.shape, shape) { $0 && $1 })
            case .or: out = .bool(Generic.map2(x, a.shape, y, b.shape, shape) { $0 || $1 })
            case .xor, .greater: out = .bool(Generic.map2(x, a.shape, y, b.shape, shape) { $0 != $1 })
            case .equal: out = .bool(Generic.map2(x, a.shape, y, b.shape, shape) { $0 == $1 })
            default: throw node.invalid("\(op.rawValue) is not defined for BOOL")
            }
        default:
            throw node.invalid("unsupported element types \(a.elementType) and \(b.elementType)")
        }
        return [Tensor(shape: shape, storage: out)]
    }

    func floatOp(_ x: [Float], _ xs: [Int], _ y: [Float], _ ys: [Int], _ s: [Int]) -> TensorStorage {
        switch op {
        case .add: .float32(Broadcast.binary(.add, x, xs, y, ys, outShape: s))
        case .sub: .float32(Broadcast.binary(.sub, x, xs, y, ys, outShape: s))
        case .mul: .float32(Broadcast.binary(.mul, x, xs, y, ys, outShape: s))
        case .div: .float32(Broadcast.binary(.div, x, xs, y, ys, outShape: s))
        case .pow: .float32(Generic.map2(x, xs, y, ys, s) { a, b in b == 2 ? a * a : (b == 0.5 ? sqrtf(a) : powf(a, b)) })
        case .mod: .float32(Generic.map2(x, xs, y, ys, s) { fmodf($0, $1) })
        case .max: .float32(Generic.map2(x, xs, y, ys, s) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) })
        case .min: .float32(Generic.map2(x, xs, y, ys, s) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) })
        case .equal: .bool(Generic.map2(x, xs, y, ys, s) { $0 == $1 })
        case .less: .bool(Generic.map2(x, xs, y, ys, s) { $0 < $1 })
        case .greater: .bool(Generic.map2(x, xs, y, ys, s) { $0 > $1 })
        case .lessOrEqual: .bool(Generic.map2(x, xs, y, ys, s) { $0 <= $1 })
        case .greaterOrEqual: .bool(Generic.map2(x, xs, y, ys, s) { $0 >= $1 })
        case .and, .or, .xor: .bool([])
        }
    }

    func intOp<T: FixedWidthInteger & SignedInteger>(_ x: [T], _ xs: [Int], _ y: [T], _ ys: [Int], _ s: [Int],
                                                     _ node: NodeExecutor, wrap: ([T]) -> TensorStorage) throws(InferenceError) -> TensorStorage {
        switch op {
        case .add: return wrap(Generic.map2(x, xs, y, ys, s) { $0 &+ $1 })
        case .sub: return wrap(Generic.map2(x, xs, y, ys, s) { $0 &- $1 })
        case .mul: return wrap(Generic.map2(x, xs, y, ys, s) { $0 &* $1 })
        case .div, .mod:
            if y.contains(0) { throw node.invalid("integer division by zero") }
            if op == .div { return wrap(Generic.map2(x, xs, y, ys, s) { $1 == -1 ? 0 &- $0 : $0 / $1 }) }
            if fmod { return wrap(Generic.map2(x, xs, y, ys, s) { $1 == -1 ? 0 : $0 % $1 }) }
            return wrap(Generic.map2(x, xs, y, ys, s) { a, b in
                if b == -1 { return 0 }
                let r = a % b
                return r != 0 && ((r < 0) != (b < 0)) ? r + b : r
            })
        case .pow:
            return wrap(Generic.map2(x, xs, y, ys, s) { a, b in
                guard b >= 0 else { return 0 }
                var result: T = 1, base = a, e = b
                while e > 0 { if e & 1 == 1 { result = result &* base }; base = base &* base; e >>= 1 }
                return result
            })
        case .max: return wrap(Generic.map2(x, xs, y, ys, s) { Swift.max($0, $1) })
        case .min: return wrap(Generic.map2(x, xs, y, ys, s) { Swift.min($0, $1) })
        case .equal: return .bool(Generic.map2(x, xs, y, ys, s) { $0 == $1 })
        case .less: return .bool(Generic.map2(x, xs, y, ys, s) { $0 < $1 })
        case .greater: return .bool(Generic.map2(x, xs, y, ys, s) { $0 > $1 })
        case .lessOrEqual: return .bool(Generic.map2(x, xs, y, ys, s) { $0 <= $1 })
        case .greaterOrEqual: return .bool(Generic.map2(x, xs, y, ys, s) { $0 >= $1 })
        case .and, .or, .xor: throw node.invalid("\(op.rawValue) needs BOOL inputs")
        }
    }
}

@inline(__always) func doublePow(_ a: Double, _ b: Double) -> Double { pow(a, b) }

struct VariadicKernel: NodeKernel {
    let op: BinaryKernel.Op
    let mean: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var acc = try node.required(inputs, 0)
        let binary = BinaryKernel(op: op, fmod: false)
        for i in 1..<inputs.count { acc = try binary.run([acc, try node.required(inputs, i)], node)[0] }
        if mean, let v = acc.floats {
            let s = 1 / Float(inputs.count)
            acc = Tensor(shape: acc.shape, storage: .float32(v.map { $0 * s }))
        }
        return [acc]
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
        let out: TensorStorage
        switch x.storage {
        case .float32(let v): out = .float32(float(v))
        case .int64(let v): out = .int64(integer(v))
        case .int32(let v): out = .int32(integer(v))
        case .bool(let v): out = .bool(v.map { !$0 })
        }
        return [Tensor(shape: x.shape, storage: out)]
    }

    func integer<T: FixedWidthInteger & SignedInteger>(_ v: [T]) -> [T] {
        switch op {
        case .neg: v.map { 0 &- $0 }
        case .abs: v.map { $0 < 0 ? 0 &- $0 : $0 }
        default: v.map { $0.signum() }
        }
    }

    func float(_ v: [Float]) -> [Float] {
        // The transcendental activations of transformer blocks run 16 lanes at a time (FastMath).
        switch op {
        case .erf: return Self.mapVectors(v, FastMath.erf)
        case .gelu: return Self.mapVectors(v, EpilogueActivation.gelu(approximateTanh: approximateTanh).apply)
        case .leakyRelu: return Self.mapVectors(v, EpilogueActivation.leakyRelu(alpha: alpha).apply)
        default: break
        }
        let a = alpha, b = beta
        return Self.map(v) { [op] x in
            switch op {
            case .sqrt: return sqrtf(x)
            case .erf, .gelu, .leakyRelu: preconditionFailure("\(op) takes the vector path above")
            case .exp: return expf(x)
            case .log: return logf(x)
            case .neg: return -x
            case .abs: return Swift.abs(x)
            case .reciprocal: return 1 / x
            case .floor: return floorf(x)
            case .ceil: return ceilf(x)
            case .sign: return x > 0 ? 1 : (x < 0 ? -1 : (x.isNaN ? x : 0))
            case .elu: return x >= 0 ? x : a * (expf(x) - 1)
            case .hardSigmoid: return Swift.max(0, Swift.min(1, a * x + b))
            case .softplus: return x > 20 ? x : log1pf(expf(x))
            case .sin: return sinf(x)
            case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
            case .acos: return acosf(x)
            case .asin: return asinf(x)
            case .atan: return atanf(x)
            case .acosh: return acoshf(x)
            case .asinh: return asinhf(x)
            case .atanh: return atanhf(x)
            case .sinh: return sinhf(x)
            case .cosh: return coshf(x)
            case .tan: return tanf(x)
            case .round: return rintf(x)   // half to even
            case .softsign: return x / (1 + Swift.abs(x))
            case .mish: return x * tanhf(x > 20 ? x : log1pf(expf(x)))
            case .celu: return Swift.max(0, x) + Swift.min(0, a * (expf(x / a) - 1))
            case .thresholdedRelu: return x > a ? x : 0
            case .shrink: return x < -a ? x + b : (x > a ? x - b : 0)
            case .selu: return x > 0 ? b * x : b * (a * expf(x) - a)
            case .cos: return cosf(x)
            case .not: return x
            }
        }
    }

    @inline(__always)
    static func mapVectors(_ v: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>) -> [Float] {
        [Float](unsafeUninitializedCapacity: v.count) { out, n in
            v.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = out.baseAddress { FastMath.map(s, d, count: v.count, f) }
            }
            n = v.count
        }
    }

    @inline(__always)
    static func map(_ v: [Float], _ f: (Float) -> Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: v.count) { out, n in
            v.withUnsafeBufferPointer { src in
                for i in 0..<v.count { out[i] = f(src[i]) }
            }
            n = v.count
        }
    }
}

struct ClipKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let lo = inputs.count > 1 ? inputs[1] : nil, hi = inputs.count > 2 ? inputs[2] : nil
        for t in [lo, hi] where t != nil && t!.elementCount != 1 { throw node.invalid("min/max must be scalars") }
        switch x.storage {
        case .float32(let v):
            let l = lo?.scalars[0] ?? -Float.infinity, h = hi?.scalars[0] ?? Float.infinity
            return [Tensor(shape: x.shape, storage: .float32(UnaryKernel.mapVectors(v, EpilogueActivation.clip(min: l, max: h).apply)))]
        default:
            let l = lo?.storage.int64Values[0] ?? Int64.min, h = hi?.storage.int64Values[0] ?? Int64.max
            let v = x.storage.int64Values.map { Swift.min(Swift.max($0, l), h) }
            return [Tensor(shape: x.shape, storage: TensorStorage.int64(v).cast(to: x.elementType))]
        }
    }
}

struct CastKernel: NodeKernel {
    let to: ElementType
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        return [Tensor(shape: x.shape, storage: x.storage.cast(to: to))]
    }
}

struct WhereKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let c = try node.required(inputs, 0), x = try node.required(inputs, 1), y = try node.required(inputs, 2)
        guard case .bool(let cond) = c.storage else { throw node.invalid("condition must be BOOL") }
        let shape = try node.broadcast([c.shape, x.shape, y.shape])
        let out: TensorStorage
        switch (x.storage, y.storage) {
        case (.float32(let a), .float32(let b)): out = .float32(Generic.map3(cond, c.shape, a, x.shape, b, y.shape, shape) { $0 ? $1 : $2 })
        case (.int64(let a), .int64(let b)): out = .int64(Generic.map3(cond, c.shape, a, x.shape, b, y.shape, shape) { $0 ? $1 : $2 })
        case (.int32(let a), .int32(let b)): out = .int32(Generic.map3(cond, c.shape, a, x.shape, b, y.shape, shape) { $0 ? $1 : $2 })
        case (.bool(let a), .bool(let b)): out = .bool(Generic.map3(cond, c.shape, a, x.shape, b, y.shape, shape) { $0 ? $1 : $2 })
        default: throw node.invalid("X and Y have different element types")
        }
        return [Tensor(shape: shape, storage: out)]
    }
}
