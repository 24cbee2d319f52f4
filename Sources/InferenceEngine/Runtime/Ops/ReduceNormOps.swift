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

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        var axes = self.axes ?? []
        if self.axes == nil {
            let r = x.shape.count
            let given = inputs.count > 1 && inputs[1] != nil ? try node.ints(inputs[1]!) : []
            if given.isEmpty && noopWithEmptyAxes { return [x] }
            var set = Set<Int>()
            for a in given {
                guard a >= -Int64(r), a < Int64(r) else { throw node.invalid("axis \(a) is out of range for rank \(r)") }
                set.insert(Int(a < 0 ? a + Int64(r) : a))
            }
            axes = given.isEmpty ? Array(0..<r) : set.sorted()
        }
        if x.elementType == .bool {
            // Max/Min of bools: any / all.
            let asInt = Tensor(shape: x.shape, storage: x.storage.cast(to: .int64))
            let r = try ReduceKernel(op: op, axes: axes, keepDims: keepDims, noopWithEmptyAxes: false).run([asInt], node)
            // Empty reductions give Int64.min / Int64.max, i.e. false for Max (any) and true for Min (all).
            let v = r[0].storage.int64Values.map { op == .max ? $0 > 0 : $0 != 0 }
            return [Tensor(shape: r[0].shape, storage: .bool(v))]
        }
        var keptShape = x.shape, outShape: [Int] = []
        for (i, d) in x.shape.enumerated() {
            if axes.contains(i) { keptShape[i] = 1; if keepDims { outShape.append(1) } } else { outShape.append(d) }
        }
        let outCount = ShapeMath.product(keptShape, 0..<keptShape.count)
        // Output offset of every input element (0 stride on reduced axes).
        let target = Generic.viewIndices(x.shape, strides: Generic.broadcastStrides(keptShape, in: x.shape).enumerated().map {
            axes.contains($0.offset) ? 0 : $0.element
        })
        let reducedCount = outCount == 0 ? 0 : x.elementCount / outCount
        switch x.storage {
        case .float32(let v):
            var acc: [Float]
            switch op {
            case .max: acc = [Float](repeating: -.infinity, count: outCount)
            case .min: acc = [Float](repeating: .infinity, count: outCount)
            case .prod: acc = [Float](repeating: 1, count: outCount)
            default: acc = [Float](repeating: 0, count: outCount)
            }

            acc.withUnsafeMutableBufferPointer { a in
                switch op {
                case .max: for (i, t) in target.enumerated() { a[t] = Swift.max(a[t], v[i]) }
                case .min: for (i, t) in target.enumerated() { a[t] = Swift.min(a[t], v[i]) }
                case .prod: for (i, t) in target.enumerated() { a[t] *= v[i] }
                case .sumSquare, .l2: for (i, t) in target.enumerated() { a[t] += v[i] * v[i] }
                case .l1: for (i, t) in target.enumerated() { a[t] += Swift.abs(v[i]) }
                case .logSumExp:
                    // Stable: subtract each output's maximum first.
                    var m = [Float](repeating: -.infinity, count: outCount)
                    for (i, t) in target.enumerated() { m[t] = Swift.max(m[t], v[i]) }
                    for (i, t) in target.enumerated() { a[t] += expf(v[i] - m[t]) }
                    for t in 0..<outCount { a[t] = m[t].isFinite ? logf(a[t]) + m[t] : (m[t] == -.infinity && reducedCount == 0 ? -.infinity : m[t]) }
                default: for (i, t) in target.enumerated() { a[t] += v[i] }
                }
            }
            if op == .mean { let s = 1 / Float(reducedCount); for i in 0..<outCount { acc[i] *= s } }
            if op == .l2 { for i in 0..<outCount { acc[i] = sqrtf(acc[i]) } }
            if op == .logSum { for i in 0..<outCount { acc[i] = logf(acc[i]) } }
            return [Tensor(shape: outShape, storage: .float32(acc))]
        default:
            let v = x.storage.int64Values
            var acc = [Int64](repeating: op == .max ? Int64.min : (op == .min ? Int64.max : (op == .prod ? 1 : 0)), count: outCount)
            for (i, t) in target.enumerated() {
                switch op {
                case .max: acc[t] = Swift.max(acc[t], v[i])
                case .min: acc[t] = Swift.min(acc[t], v[i])
                case .prod: acc[t] = acc[t] &* v[i]
                default: acc[t] &+= v[i]
                }
            }
            return [Tensor(shape: outShape, storage: TensorStorage.int64(acc).cast(to: x.elementType))]
        }
    }
}

struct LayerNormKernel: NodeKernel {
    let axis: Int
    let epsilon: Float

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, shape) = try node.floats(inputs[0])
        let (scale, scaleShape) = try node.floats(inputs[1])
        let bias = inputs.count > 2 && inputs[2] != nil ? try node.floats(inputs[2]) : nil
        let outer = ShapeMath.product(shape, 0..<axis), inner = ShapeMath.product(shape, axis..<shape.count)
        let normShape = Array(shape[axis...])
        // Scale and bias broadcast over the normalized dims: expand them once per call.
        func expanded(_ v: [Float], _ s: [Int]) throws(InferenceError) -> [Float] {
            if v.count == inner { return v }
            guard s.count <= normShape.count, Broadcast.shape(normShape, s) == normShape else {
                throw node.invalid("scale/bias \(s.shapeDescription) do not broadcast to \(normShape.shapeDescription)")
            }
            return Generic.viewIndices(normShape, strides: Generic.broadcastStrides(s, in: normShape)).map { v[$0] }
        }
        let g = try expanded(scale, scaleShape)
        let b = try bias.map { (v, s) throws(InferenceError) in try expanded(v, s) }
        var means = [Float](repeating: 0, count: outer), invStd = [Float](repeating: 0, count: outer)
        let y = node.outputFloats(x.count) { out, n in
            x.withUnsafeBufferPointer { px in
                g.withUnsafeBufferPointer { pg in
                    (b ?? []).withUnsafeBufferPointer { pbeta in
                        // Empty rows leave nothing to normalise (and no buffer addresses).
                        guard inner > 0 else { return }
                        for o in 0..<outer {
                            let (mean, inv) = LayerNormRow.normalize(px.baseAddress! + o * inner, out.baseAddress! + o * inner, width: inner,
                                                                     epsilon: epsilon, gamma: pg.baseAddress!,
                                                                     beta: b == nil ? nil : pbeta.baseAddress!)
                            means[o] = mean; invStd[o] = inv
                        }
                    }
                }
            }
            n = x.count
        }
        let statShape = Array(shape[..<axis]) + [Int](repeating: 1, count: shape.count - axis)
        return [Tensor(shape: shape, storage: .float32(y)), Tensor(shape: statShape, storage: .float32(means)),
                Tensor(shape: statShape, storage: .float32(invStd))]
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
        let inner = ShapeMath.product(shape, 2..<shape.count), outer = shape[0]
        var mul = [Float](repeating: 0, count: c), add = [Float](repeating: 0, count: c)
        for k in 0..<c {
            mul[k] = params[0][k] / sqrtf(params[3][k] + epsilon)
            add[k] = params[1][k] - params[2][k] * mul[k]
        }
        let y = node.outputFloats(x.count) { out, n in
            for o in 0..<outer {
                for k in 0..<c {
                    let base = (o * c + k) * inner
                    let m = mul[k], a = add[k]
                    for i in 0..<inner { out[base + i] = x[base + i] * m + a }
                }
            }
            n = x.count
        }
        return [Tensor(shape: shape, storage: .float32(y))]
    }
}
