#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension OperatorCompiler {
    func compileReduce() throws(ModelLoadError) -> Compiled {
        // ReduceSum takes axes as an input from opset 13, the others from opset 18.
        let axesFromInput = node.opType == "ReduceSum" ? opset >= 13 : opset >= 18
        try checkArity(1, axesFromInput ? 2 : 1)
        let op = ReduceKernel.Op(rawValue: node.opType)!
        let x = try input(0, op == .max || op == .min ? Self.allTypes : (op == .sum || op == .prod ? [.float32, .int64, .int32] : [.float32]))
        let attrs = try attributes(axesFromInput ? ["keepdims", "noop_with_empty_axes"] : ["keepdims", "axes"])
        let keep = try attrs.flag("keepdims") || attrs.byName["keepdims"] == nil
        let noop = try attrs.flag("noop_with_empty_axes")
        let rank = x.shape.rank
        if axesFromInput, node.inputs.count > 1, !node.inputs[1].isEmpty, inputs[1]?.constant == nil {
            // Axes known only per request: the rank is known when keepdims=1 or the axes count is fixed.
            let axesInput = try input(1, [.int64])
            guard axesInput.shape.rank == 1 else { throw fail("axes must be 1-D") }
            let kernel = ReduceKernel(op: op, axes: nil, keepDims: keep, noopWithEmptyAxes: noop)
            if keep { return (kernel, [Self.unknown(rank: rank)], [x.type]) }
            guard let n = axesInput.shape.dims[0].fixedValue, n > 0 || !noop else {
                throw fail("with keepdims=0 the number of axes must be known at load to infer the output rank")
            }
            return (kernel, [Self.unknown(rank: n == 0 ? 0 : Swift.max(rank - n, 0))], [x.type])
        }
        let given = try axesArgument(attrs, inputIndex: 1, fromInput: axesFromInput) ?? []
        if given.isEmpty && noop { return (IdentityKernel(), [x.shape], [x.type]) }
        var axes = Set<Int>()
        for a in given { axes.insert(try normalizeAxis(a, rank: rank)) }
        if given.isEmpty { axes = Set(0..<rank) }
        var dims: [InferredShape.Dim] = []
        for (i, d) in x.shape.dims.enumerated() {
            if axes.contains(i) { if keep { dims.append(.fixed(1)) } } else { dims.append(d) }
        }
        return (ReduceKernel(op: op, axes: axes.sorted(), keepDims: keep, noopWithEmptyAxes: noop), [InferredShape(dims)], [x.type])
    }

    func compileLayerNorm() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 3, outputs: 1...3)
        let x = try input(0, [.float32])
        let scale = try input(1, [.float32])
        let bias = try optionalInput(2, [.float32])
        let attrs = try attributes(["axis", "epsilon", "stash_type"])
        let axis = try normalizeAxis(try attrs.int("axis", default: -1), rank: x.shape.rank)
        let eps = try attrs.float("epsilon", default: 1e-5)
        let stash = try attrs.int("stash_type", default: 1)
        guard stash == 1 else { throw fail("stash_type \(stash) is not supported (1 = FLOAT)") }
        let normalized = Array(x.shape.dims[axis...])
        for s in [scale] + (bias.map { [$0] } ?? []) {
            guard InferredShape.broadcast(normalized, s.shape.dims) != nil, s.shape.rank <= normalized.count else {
                throw fail("scale/bias \(s.shape.description) do not broadcast to the normalized shape \(InferredShape(normalized).description)")
            }
        }
        let stats = InferredShape(Array(x.shape.dims[..<axis]) + [InferredShape.Dim](repeating: .fixed(1), count: x.shape.rank - axis))
        return (LayerNormKernel(axis: axis, epsilon: eps), [x.shape, stats, stats], [.float32, .float32, .float32])
    }

    func compileBatchNorm() throws(ModelLoadError) -> Compiled {
        try checkArity(5, 5)
        let x = try input(0, [.float32])
        for i in 1...4 {
            let p = try input(i, [.float32])
            guard p.shape.rank == 1 else { throw fail("scale, B, mean and var must be 1-D, got \(p.shape.description)") }
            if x.shape.rank >= 2, let c = x.shape.dims[1].fixedValue, let n = p.shape.dims[0].fixedValue, c != n {
                throw fail("parameter '\(node.inputs[i])' has \(n) channels but X has \(c)")
            }
        }
        let attrs = try attributes(["epsilon", "momentum", "training_mode", "spatial"])
        guard try !attrs.flag("training_mode") else { throw fail("training_mode=1 is not supported (inference only)") }
        guard try attrs.int("spatial", default: 1) == 1 else { throw fail("spatial=0 is not supported") }
        guard x.shape.rank >= 2 else { throw fail("X must have rank ≥ 2") }
        return (BatchNormKernel(epsilon: try attrs.float("epsilon", default: 1e-5)), [x.shape], [.float32])
    }
}

/// How a reduction walks its input for one input shape and axis set: the accumulator (the
/// output, reduced axes kept as size 1) broadcast against the input, so that every contiguous
/// run of input elements either folds into one accumulator (the innermost axis is reduced) or
/// into a row of them (it is kept).
struct ReduceLayout: Sendable {
    let pattern: BroadcastPattern
    let outShape: [Int]
    let outCount: Int
    /// Input elements per output element.
    let reducedCount: Int
    /// Whether each input run folds into one accumulator (stride 0) or a row (stride 1).
    var foldsRuns: Bool { pattern.innerStrides[0] == 0 }

    init(shape: [Int], axes: [Int], keepDims: Bool) {
        var kept = shape, out: [Int] = []
        for (i, d) in shape.enumerated() {
            if axes.contains(i) { kept[i] = 1; if keepDims { out.append(1) } } else { out.append(d) }
        }
        pattern = BroadcastPattern([kept], outShape: shape)
        outShape = out
        outCount = ShapeMath.product(kept, 0..<kept.count)
        let total = ShapeMath.product(shape, 0..<shape.count)
        reducedCount = outCount == 0 ? 0 : total / outCount
    }
}

struct ReduceKernel: NodeKernel {
    enum Op: String, Sendable {
        case mean = "ReduceMean", sum = "ReduceSum", max = "ReduceMax", min = "ReduceMin", prod = "ReduceProd"
        case sumSquare = "ReduceSumSquare", l2 = "ReduceL2", l1 = "ReduceL1", logSum = "ReduceLogSum"
        case logSumExp = "ReduceLogSumExp"
    }
    let op: Op
    /// Normalized axes, or nil when they come from the second input per request.
    let axes: [Int]?
    let keepDims: Bool
    let noopWithEmptyAxes: Bool

    /// The sorted axes to reduce for an input of `rank`, given the axes input's values when the
    /// axes were not known at load; nil means none (the reduction is the identity).
    func resolvedAxes(rank: Int, given: [Int64]?) -> Result<[Int]?, InferenceError> {
        if let axes { return .success(axes) }
        let given = given ?? []
        if given.isEmpty { return .success(noopWithEmptyAxes ? nil : Array(0..<rank)) }
        var set = Set<Int>()
        for a in given {
            guard a >= -Int64(rank), a < Int64(rank) else { return .failure(.invalidInput("axis \(a) is out of range for rank \(rank)")) }
            set.insert(Int(a < 0 ? a + Int64(rank) : a))
        }
        return .success(set.sorted())
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let given = inputs.count > 1 && inputs[1] != nil ? try node.ints(inputs[1]!) : nil
        let axes: [Int]
        switch resolvedAxes(rank: x.shape.count, given: given) {
        case .success(nil): return [x]
        case .success(let a?): axes = a
        case .failure(.invalidInput(let message)): throw node.invalid(message)
        case .failure(let error): throw error
        }
        let layout = ReduceLayout(shape: x.shape, axes: axes, keepDims: keepDims)
        var scratch = [Float](repeating: 0, count: op == .logSumExp ? layout.outCount : 0)
        let y = try node.outputTensor(layout.outShape, x.elementType) { y throws(InferenceError) in
            try x.withElements { px in
                scratch.withUnsafeMutableBufferPointer { s in compute(px, x.elementType, y, layout, scratch: s.baseAddress) }
            }
        }
        return [y]
    }

    /// Reduces `x` (of `type`) into `y` (`layout.outCount` elements). `scratch` holds
    /// `outCount` floats for ReduceLogSumExp (the per-output maxima).
    func compute(_ x: UnsafeRawPointer, _ type: ElementType, _ y: UnsafeMutableRawPointer, _ layout: ReduceLayout,
                 scratch: UnsafeMutablePointer<Float>?) {
        switch type {
        case .float32: float(x.assumingMemoryBound(to: Float.self), y.assumingMemoryBound(to: Float.self), layout, scratch)
        case .int64: integer(x.assumingMemoryBound(to: Int64.self), y.assumingMemoryBound(to: Int64.self), layout)
        case .int32: integer(x.assumingMemoryBound(to: Int32.self), y.assumingMemoryBound(to: Int32.self), layout)
        case .bool:
            // Max and Min of bools are any and all: the byte maximum and minimum, from false
            // and true respectively (so empty reductions give false and true).
            let acc = y.assumingMemoryBound(to: UInt8.self)
            acc.update(repeating: op == .min ? 1 : 0, count: layout.outCount)
            if op == .min {
                Self.fold(x.assumingMemoryBound(to: UInt8.self), acc, layout) { Swift.min($0, $1) }
            } else {
                Self.fold(x.assumingMemoryBound(to: UInt8.self), acc, layout) { Swift.max($0, $1) }
            }
        default: break
        }
    }

    /// `acc[t] = f(acc[t], x[i])` over every input element `i`, in input order.
    @inline(__always)
    static func fold<T>(_ x: UnsafePointer<T>, _ acc: UnsafeMutablePointer<T>, _ layout: ReduceLayout, _ f: (T, T) -> T) {
        let runs = layout.foldsRuns
        layout.pattern.forEachRow { o, start, n in
            let a = acc + o[0], v = x + start
            if runs {
                var s = a.pointee
                for i in 0..<n { s = f(s, v[i]) }
                a.pointee = s
            } else {
                for i in 0..<n { a[i] = f(a[i], v[i]) }
            }
        }
    }

    private func float(_ x: UnsafePointer<Float>, _ acc: UnsafeMutablePointer<Float>, _ layout: ReduceLayout,
                       _ scratch: UnsafeMutablePointer<Float>?) {
        let outCount = layout.outCount
        switch op {
        case .max: acc.update(repeating: -.infinity, count: outCount)
        case .min: acc.update(repeating: .infinity, count: outCount)
        case .prod: acc.update(repeating: 1, count: outCount)
        default: acc.update(repeating: 0, count: outCount)
        }
        switch op {
        case .max: Self.fold(x, acc, layout) { Swift.max($0, $1) }
        case .min: Self.fold(x, acc, layout) { Swift.min($0, $1) }
        case .prod: Self.fold(x, acc, layout) { $0 * $1 }
        case .sumSquare, .l2: Self.fold(x, acc, layout) { $0 + $1 * $1 }
        case .l1: Self.fold(x, acc, layout) { $0 + Swift.abs($1) }
        case .logSumExp:
            // Stable: subtract each output's maximum first.
            guard let m = scratch else { return }
            m.update(repeating: -.infinity, count: outCount)
            Self.fold(x, m, layout) { Swift.max($0, $1) }
            let runs = layout.foldsRuns
            layout.pattern.forEachRow { o, start, n in
                let a = acc + o[0], mm = m + o[0], v = x + start
                if runs {
                    var s = a.pointee
                    let shift = mm.pointee
                    for i in 0..<n { s += expf(v[i] - shift) }
                    a.pointee = s
                } else {
                    for i in 0..<n { a[i] += expf(v[i] - mm[i]) }
                }
            }
            for t in 0..<outCount {
                acc[t] = m[t].isFinite ? logf(acc[t]) + m[t] : (m[t] == -.infinity && layout.reducedCount == 0 ? -.infinity : m[t])
            }
        default: Self.fold(x, acc, layout) { $0 + $1 }
        }
        if op == .mean { let s = 1 / Float(layout.reducedCount); for i in 0..<outCount { acc[i] *= s } }
        if op == .l2 { for i in 0..<outCount { acc[i] = sqrtf(acc[i]) } }
        if op == .logSum { for i in 0..<outCount { acc[i] = logf(acc[i]) } }
    }

    private func integer<T: FixedWidthInteger & SignedInteger>(_ x: UnsafePointer<T>, _ acc: UnsafeMutablePointer<T>, _ layout: ReduceLayout) {
        switch op {
        case .max:
            acc.update(repeating: T.min, count: layout.outCount)
            Self.fold(x, acc, layout) { Swift.max($0, $1) }
        case .min:
            acc.update(repeating: T.max, count: layout.outCount)
            Self.fold(x, acc, layout) { Swift.min($0, $1) }
        case .prod:
            acc.update(repeating: 1, count: layout.outCount)
            Self.fold(x, acc, layout) { $0 &* $1 }
        default:
            acc.update(repeating: 0, count: layout.outCount)
            Self.fold(x, acc, layout) { $0 &+ $1 }
        }
    }
}

struct LayerNormKernel: NodeKernel {
    let axis: Int
    let epsilon: Float

    /// Scale or bias values of `shape` broadcast to the normalized shape, one value per
    /// normalized element; nil when they do not broadcast.
    static func expanded(_ values: [Float], _ shape: [Int], to normShape: [Int]) -> [Float]? {
        let inner = ShapeMath.product(normShape, 0..<normShape.count)
        guard shape.count <= normShape.count, Broadcast.shape(normShape, shape) == normShape, values.count == ShapeMath.product(shape, 0..<shape.count) else {
            return nil
        }
        if values.count == inner { return values }
        return Generic.viewIndices(normShape, strides: Generic.broadcastStrides(shape, in: normShape)).map { values[$0] }
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, shape) = try node.floats(inputs[0])
        let (scale, scaleShape) = try node.floats(inputs[1])
        let bias = inputs.count > 2 && inputs[2] != nil ? try node.floats(inputs[2]) : nil
        let outer = ShapeMath.product(shape, 0..<axis), inner = ShapeMath.product(shape, axis..<shape.count)
        let normShape = Array(shape[axis...])
        // Scale and bias broadcast over the normalized dims: expanded once per call.
        func expanded(_ v: [Float], _ s: [Int]) throws(InferenceError) -> [Float] {
            guard let e = Self.expanded(v, s, to: normShape) else {
                throw node.invalid("scale/bias \(s.shapeDescription) do not broadcast to \(normShape.shapeDescription)")
            }
            return e
        }
        let g = try expanded(scale, scaleShape)
        let b = try bias.map { (v, s) throws(InferenceError) in try expanded(v, s) }
        var means = [Float](repeating: 0, count: outer), invStd = [Float](repeating: 0, count: outer)
        let y = node.outputFloats(x.count) { out, n in
            n = x.count
            x.withUnsafeBufferPointer { px in g.withUnsafeBufferPointer { pg in (b ?? []).withUnsafeBufferPointer { pbeta in
                means.withUnsafeMutableBufferPointer { pm in invStd.withUnsafeMutableBufferPointer { pi in
                    // Empty rows leave nothing to normalise (and no buffer addresses).
                    guard inner > 0, outer > 0 else { return }
                    compute(px.baseAddress!, out.baseAddress!, outer: outer, inner: inner, gamma: pg.baseAddress!,
                            beta: b == nil ? nil : pbeta.baseAddress!, means: pm.baseAddress, invStd: pi.baseAddress)
                } }
            } } }
        }
        let statShape = Array(shape[..<axis]) + [Int](repeating: 1, count: shape.count - axis)
        return [Tensor(shape: shape, storage: .float32(y)), Tensor(shape: statShape, storage: .float32(means)),
                Tensor(shape: statShape, storage: .float32(invStd))]
    }

    /// Normalizes `outer` rows of `inner` floats; `gamma` and `beta` hold `inner` values, the
    /// statistics go to `means` and `invStd` when given.
    func compute(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, inner: Int,
                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>?,
                 means: UnsafeMutablePointer<Float>?, invStd: UnsafeMutablePointer<Float>?) {
        guard inner > 0 else { return }
        for o in 0..<outer {
            let (mean, inv) = LayerNormRow.normalize(x + o * inner, y + o * inner, width: inner, epsilon: epsilon, gamma: gamma, beta: beta)
            means?[o] = mean
            invStd?[o] = inv
        }
    }
}

struct BatchNormKernel: NodeKernel {
    let epsilon: Float

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, shape) = try node.floats(inputs[0])
        let c = shape[1]
        var params: [[Float]] = []
        for i in 1...4 {
            let (v, _) = try node.floats(inputs[i])
            guard v.count == c else { throw node.invalid("parameter #\(i) has \(v.count) values for \(c) channels") }
            params.append(v)
        }
        var mul = [Float](repeating: 0, count: c), add = [Float](repeating: 0, count: c)
        Self.coefficients(params[0], params[1], params[2], params[3], epsilon: epsilon, mul: &mul, add: &add)
        let inner = ShapeMath.product(shape, 2..<shape.count), outer = shape[0]
        let y = node.outputFloats(x.count) { out, n in
            n = x.count
            guard x.count > 0 else { return }
            x.withUnsafeBufferPointer { px in
                Self.apply(px.baseAddress!, out.baseAddress!, outer: outer, channels: c, inner: inner, mul: mul, add: add)
            }
        }
        return [Tensor(shape: shape, storage: .float32(y))]
    }

    /// The per-channel `y = x·mul + add` that inference BatchNormalization is.
    static func coefficients(_ scale: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ mean: UnsafePointer<Float>,
                             _ variance: UnsafePointer<Float>, epsilon: Float, channels: Int,
                             mul: UnsafeMutablePointer<Float>, add: UnsafeMutablePointer<Float>) {
        for k in 0..<channels {
            mul[k] = scale[k] / sqrtf(variance[k] + epsilon)
            add[k] = bias[k] - mean[k] * mul[k]
        }
    }

    static func coefficients(_ scale: [Float], _ bias: [Float], _ mean: [Float], _ variance: [Float], epsilon: Float,
                             mul: inout [Float], add: inout [Float]) {
        let c = mul.count
        mul.withUnsafeMutableBufferPointer { m in add.withUnsafeMutableBufferPointer { a in
            guard c > 0 else { return }
            coefficients(scale, bias, mean, variance, epsilon: epsilon, channels: c, mul: m.baseAddress!, add: a.baseAddress!)
        } }
    }

    static func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, channels: Int, inner: Int,
                      mul: UnsafePointer<Float>, add: UnsafePointer<Float>) {
        for o in 0..<outer {
            for k in 0..<channels {
                let base = (o * channels + k) * inner
                let m = mul[k], a = add[k]
                for i in 0..<inner { y[base + i] = x[base + i] * m + a }
            }
        }
    }
}
