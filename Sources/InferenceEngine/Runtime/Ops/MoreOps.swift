#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension OperatorCompiler {
    func compileLogSoftmax() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, [.float32])
        let attrs = try attributes(["axis"])
        let rank = x.shape.rank
        let legacy = opset < 13
        let axis = try normalizeAxis(try attrs.int("axis", default: legacy ? 1 : -1), rank: Swift.max(rank, 1))
        return (LogSoftmaxKernel(axis: axis, coerce: legacy), [x.shape], [.float32])
    }

    func compileArgReduce() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, [.float32, .int64, .int32])
        let attrs = try attributes(["axis", "keepdims", "select_last_index"])
        let axis = try normalizeAxis(try attrs.int("axis", default: 0), rank: x.shape.rank)
        let keep = try attrs.flag("keepdims") || attrs.byName["keepdims"] == nil
        let last = try attrs.flag("select_last_index")
        var dims = x.shape.dims
        if keep { dims[axis] = .fixed(1) } else { dims.remove(at: axis) }
        return (ArgReduceKernel(isMax: node.opType == "ArgMax", axis: axis, keepDims: keep, selectLast: last), [InferredShape(dims)], [.int64])
    }

    func compilePad() throws(ModelLoadError) -> Compiled {
        try checkArity(2, opset >= 18 ? 4 : 3)
        let x = try input(0, Self.allTypes)
        _ = try input(1, [.int64])
        _ = try optionalInput(2, [x.type])
        _ = try optionalInput(3, Self.indexTypes)
        let attrs = try attributes(["mode"])
        let mode = try string(attrs, "mode", default: "constant")
        guard let m = PadKernel.Mode(rawValue: mode) else { throw fail("unsupported mode '\(mode)' (constant, reflect, edge, wrap)") }
        if m != .constant, x.type == .bool { throw fail("mode '\(mode)' needs numeric data") }
        var dims = Self.unknown(rank: x.shape.rank).dims
        if let pads = constantInts(1), node.inputs.count < 4 || node.inputs[3].isEmpty {
            let r = x.shape.rank
            guard pads.count == 2 * r else { throw fail("pads has \(pads.count) values for rank \(r)") }
            guard pads.allSatisfy({ $0.magnitude <= UInt64(ONNXLimits.maxComputedElements) }) else { throw fail("pads \(pads) are too large") }
            for i in 0..<r {
                if let d = x.shape.dims[i].fixedValue { dims[i] = .fixed(d + Int(pads[i]) + Int(pads[i + r])) } else if pads[i] == 0 && pads[i + r] == 0 { dims[i] = x.shape.dims[i] }
            }
        }
        return (PadKernel(mode: m), [InferredShape(dims)], [x.type])
    }

    func compileCumSum() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, [.float32, .int64, .int32])
        _ = try input(1, Self.indexTypes)
        let attrs = try attributes(["exclusive", "reverse"])
        return (CumSumKernel(exclusive: try attrs.flag("exclusive"), reverse: try attrs.flag("reverse")), [x.shape], [x.type])
    }

    func compilePRelu() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, [.float32]), slope = try input(1, [.float32])
        _ = try attributes([])
        guard InferredShape.broadcast(x.shape.dims, slope.shape.dims) != nil else {
            throw fail("slope \(slope.shape.description) does not broadcast to X \(x.shape.description)")
        }
        return (PReluKernel(), [x.shape], [.float32])
    }
}

struct LogSoftmaxKernel: NodeKernel {
    let axis: Int
    let coerce: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, shape) = try node.floats(inputs[0])
        let rank = shape.count
        let outer: Int, length: Int, inner: Int
        if rank == 0 { (outer, length, inner) = (1, 1, 1) }
        else if coerce { (outer, length, inner) = (ShapeMath.product(shape, 0..<axis), ShapeMath.product(shape, axis..<rank), 1) }
        else { (outer, length, inner) = (ShapeMath.product(shape, 0..<axis), shape[axis], ShapeMath.product(shape, (axis + 1)..<rank)) }
        var y = [Float](repeating: 0, count: x.count)
        for o in 0..<outer {
            for s in 0..<inner {
                let base = o * length * inner + s
                var m = -Float.infinity
                for i in 0..<length { m = Swift.max(m, x[base + i * inner]) }
                var sum: Float = 0
                for i in 0..<length { sum += expf(x[base + i * inner] - m) }
                let l = logf(sum) + m
                for i in 0..<length { y[base + i * inner] = x[base + i * inner] - l }
            }
        }
        return [Tensor(shape: shape, storage: .float32(y))]
    }
}

struct ArgReduceKernel: NodeKernel {
    let isMax: Bool
    let axis: Int
    let keepDims: Bool
    let selectLast: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let shape = x.shape
        let n = shape[axis]
        guard n > 0 else { throw node.invalid("cannot take \(isMax ? "ArgMax" : "ArgMin") over an empty axis") }
        let outer = ShapeMath.product(shape, 0..<axis), inner = ShapeMath.product(shape, (axis + 1)..<shape.count)
        let v = x.storage.floatValues   // exact for float32 and for integers below 2^24
        let exact = x.storage.int64Values
        let useInt = x.elementType != .float32
        var out = [Int64](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for s in 0..<inner {
                var best = 0
                for i in 1..<n {
                    let a = o * n * inner + i * inner + s, b = o * n * inner + best * inner + s
                    let better: Bool
                    if useInt {
                        better = isMax ? (selectLast ? exact[a] >= exact[b] : exact[a] > exact[b]) : (selectLast ? exact[a] <= exact[b] : exact[a] < exact[b])
                    } else {
                        better = isMax ? (selectLast ? v[a] >= v[b] : v[a] > v[b]) : (selectLast ? v[a] <= v[b] : v[a] < v[b])
                    }
                    if better { best = i }
                }
                out[o * inner + s] = Int64(best)
            }
        }
        var outShape = shape
        if keepDims { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        return [Tensor(shape: outShape, storage: .int64(out))]
    }
}

struct PadKernel: NodeKernel {
    enum Mode: String, Sendable { case constant, reflect, edge, wrap }
    let mode: Mode
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let r = x.shape.count
        let given = try node.ints(try node.required(inputs, 1))
        var axes = Array(0..<r)
        if inputs.count > 3, let a = inputs[3] {
            axes = try node.ints(a).map { v throws(InferenceError) in
                guard v >= -Int64(r), v < Int64(r) else { throw node.invalid("axis \(v) is out of range") }
                return Int(v < 0 ? v + Int64(r) : v)
            }
        }
        guard given.count == 2 * axes.count else { throw node.invalid("pads has \(given.count) values for \(axes.count) axes") }
        var begin = [Int](repeating: 0, count: r), end = [Int](repeating: 0, count: r)
        for (i, a) in axes.enumerated() {
            guard given[i].magnitude <= UInt64(ONNXLimits.maxComputedElements), given[i + axes.count].magnitude <= UInt64(ONNXLimits.maxComputedElements) else {
                throw node.invalid("pads \(given) are too large")
            }
            begin[a] = Int(given[i]); end[a] = Int(given[i + axes.count])
        }
        var outShape: [Int] = []
        for d in 0..<r {
            let o = x.shape[d] + begin[d] + end[d]
            guard o >= 0 else { throw node.invalid("pads \(given) remove more than the input \(x.shape.shapeDescription)") }
            if mode == .reflect, (begin[d] > 0 || end[d] > 0), x.shape[d] < 2 || begin[d] >= x.shape[d] || end[d] >= x.shape[d] {
                throw node.invalid("reflect padding \(given) is too large for \(x.shape.shapeDescription)")
            }
            if mode == .edge || mode == .wrap, x.shape[d] == 0, o > 0 { throw node.invalid("\(mode) padding of an empty axis") }
            outShape.append(o)
        }
        let count = try node.checkedCount(outShape)
        let inStrides = ShapeMath.strides(x.shape), outStrides = ShapeMath.strides(outShape)
        let padIndex = x.elementCount   // one past the data: the constant value appended below
        var indices = [Int](repeating: 0, count: count)
        for i in 0..<count {
            var rem = i, src = 0, outside = false
            for d in 0..<r {
                let idx = rem / outStrides[d]
                rem -= idx * outStrides[d]
                var j = idx - begin[d]
                let n = x.shape[d]
                if j < 0 || j >= n {
                    switch mode {
                    case .constant: outside = true
                    case .edge: j = j < 0 ? 0 : n - 1
                    case .reflect: j = j < 0 ? -j : 2 * (n - 1) - j
                    case .wrap: j = ((j % n) + n) % n
                    }
                }
                src += j * inStrides[d]
            }
            indices[i] = outside ? padIndex : src
        }
        var fill = TensorStorage.int64([0]).cast(to: x.elementType)
        if inputs.count > 2, let v = inputs[2] {
            guard v.elementCount == 1 else { throw node.invalid("constant_value must be a scalar") }
            fill = v.storage
        }
        let flat = TensorStorage.concatenated([x.storage, fill], as: x.elementType)
        return [Tensor(shape: outShape, storage: flat.gathered(indices))]
    }
}

struct CumSumKernel: NodeKernel {
    let exclusive: Bool
    let reverse: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let axisT = try node.required(inputs, 1)
        guard axisT.elementCount == 1 else { throw node.invalid("axis must be a scalar") }
        let r = x.shape.count
        let a = try node.ints(axisT)[0]
        guard a >= -Int64(r), a < Int64(r) else { throw node.invalid("axis \(a) is out of range") }
        let axis = Int(a < 0 ? a + Int64(r) : a)
        let n = x.shape[axis], outer = ShapeMath.product(x.shape, 0..<axis), inner = ShapeMath.product(x.shape, (axis + 1)..<r)
        func scan<T: AdditiveArithmetic>(_ v: [T], _ plus: (T, T) -> T = { $0 + $1 }) -> [T] {
            var out = v
            for o in 0..<outer {
                for s in 0..<inner {
                    var acc = T.zero
                    for k in 0..<n {
                        let i = reverse ? n - 1 - k : k
                        let idx = (o * n + i) * inner + s
                        if exclusive { out[idx] = acc; acc = plus(acc, v[idx]) } else { acc = plus(acc, v[idx]); out[idx] = acc }
                    }
                }
            }
            return out
        }
        switch x.storage {
        case .float32(let v): return [Tensor(shape: x.shape, storage: .float32(scan(v)))]
        case .int64(let v): return [Tensor(shape: x.shape, storage: .int64(scan(v, &+)))]
        case .int32(let v): return [Tensor(shape: x.shape, storage: .int32(scan(v, &+)))]
        case .bool: throw node.invalid("CumSum needs numeric data")
        }
    }
}

struct PReluKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let (s, ss) = try node.floats(inputs[1])
        guard Broadcast.shape(xs, ss) == xs else { throw node.invalid("slope \(ss.shapeDescription) does not broadcast to \(xs.shapeDescription)") }
        return [Tensor(shape: xs, storage: .float32(Generic.map2(x, xs, s, ss, xs) { $0 < 0 ? $0 * $1 : $0 }))]
    }
}
