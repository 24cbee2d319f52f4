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

/// Outer, axis and inner extents of a softmax-like operator (LogSoftmax, Hardmax) for one
/// shape, with the opset < 13 coercion to 2-D.
struct AxisExtents: Sendable {
    let outer: Int, length: Int, inner: Int

    init(_ shape: [Int], axis: Int, coerce: Bool) {
        let rank = shape.count
        if rank == 0 { (outer, length, inner) = (1, 1, 1) }
        else if coerce { (outer, length, inner) = (ShapeMath.product(shape, 0..<axis), ShapeMath.product(shape, axis..<rank), 1) }
        else { (outer, length, inner) = (ShapeMath.product(shape, 0..<axis), shape[axis], ShapeMath.product(shape, (axis + 1)..<rank)) }
    }

    var count: Int { outer * length * inner }
}

struct LogSoftmaxKernel: NodeKernel {
    let axis: Int
    let coerce: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        [try node.mapAlongAxis(inputs[0], axis: axis, coerce: coerce, Self.apply)]
    }

    static func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ e: AxisExtents) {
        let (length, inner) = (e.length, e.inner)
        for o in 0..<e.outer {
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
        var out = [Int64](repeating: 0, count: outer * inner)
        x.storage.withUnsafeBytes { bytes in
            out.withUnsafeMutableBufferPointer { o in
                if let source = bytes.baseAddress, let target = o.baseAddress {
                    apply(source, x.elementType, target, outer: outer, n: n, inner: inner)
                }
            }
        }
        var outShape = shape
        if keepDims { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        return [Tensor(shape: outShape, storage: .int64(out))]
    }

    /// The index of the best element along the axis for every outer and inner position.
    func apply(_ x: UnsafeRawPointer, _ type: ElementType, _ out: UnsafeMutablePointer<Int64>, outer: Int, n: Int, inner: Int) {
        switch type {
        case .int64: apply(x.assumingMemoryBound(to: Int64.self), out, outer, n, inner)
        case .int32: apply(x.assumingMemoryBound(to: Int32.self), out, outer, n, inner)
        default: apply(x.assumingMemoryBound(to: Float.self), out, outer, n, inner)
        }
    }

    private func apply<T: Comparable>(_ v: UnsafePointer<T>, _ out: UnsafeMutablePointer<Int64>, _ outer: Int, _ n: Int, _ inner: Int) {
        for o in 0..<outer {
            for s in 0..<inner {
                var best = 0
                for i in 1..<Swift.max(n, 1) {
                    let a = v[o * n * inner + i * inner + s], b = v[o * n * inner + best * inner + s]
                    let better = isMax ? (selectLast ? a >= b : a > b) : (selectLast ? a <= b : a < b)
                    if better { best = i }
                }
                out[o * inner + s] = Int64(best)
            }
        }
    }
}

struct PadKernel: NodeKernel {
    enum Mode: String, Sendable { case constant, reflect, edge, wrap }
    let mode: Mode
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let axes = inputs.count > 3 ? try inputs[3].map { t throws(InferenceError) in try node.ints(t) } : nil
        let layout = try Layout(x.shape, pads: try node.ints(try node.required(inputs, 1)), axes: axes, mode: mode,
                                width: x.elementType.byteWidth ?? 4, node)
        var fill = TensorStorage.int64([0]).cast(to: x.elementType)
        if inputs.count > 2, let v = inputs[2] {
            guard v.elementCount == 1 else { throw node.invalid("constant_value must be a scalar") }
            fill = v.storage
        }
        let storage = TensorStorage.writing(x.elementType, count: ShapeMath.product(layout.outShape, 0..<layout.outShape.count),
                                            arena: node.context.arena) { target in
            x.storage.withUnsafeBytes { source in
                fill.withUnsafeBytes { value in layout.apply(source.baseAddress ?? value.baseAddress!, target, fill: value.baseAddress!) }
            }
        }
        return [Tensor(shape: layout.outShape, storage: storage)]
    }

    /// The padding of one input shape, checked, and the copy on raw bytes.
    struct Layout: Sendable {
        let inShape: [Int], outShape: [Int]
        /// Elements added before each axis (negative: removed).
        let begin: [Int]
        let mode: Mode
        let width: Int

        init(_ shape: [Int], pads given: [Int64], axes: [Int64]?, mode: Mode, width: Int, _ node: NodeExecutor) throws(InferenceError) {
            let r = shape.count
            var axisList = Array(0..<r)
            if let axes {
                axisList = try axes.map { v throws(InferenceError) in
                    guard v >= -Int64(r), v < Int64(r) else { throw node.invalid("axis \(v) is out of range") }
                    return Int(v < 0 ? v + Int64(r) : v)
                }
            }
            guard given.count == 2 * axisList.count else { throw node.invalid("pads has \(given.count) values for \(axisList.count) axes") }
            var begin = [Int](repeating: 0, count: r), end = [Int](repeating: 0, count: r)
            for (i, a) in axisList.enumerated() {
                guard given[i].magnitude <= UInt64(ONNXLimits.maxComputedElements), given[i + axisList.count].magnitude <= UInt64(ONNXLimits.maxComputedElements) else {
                    throw node.invalid("pads \(given) are too large")
                }
                begin[a] = Int(given[i]); end[a] = Int(given[i + axisList.count])
            }
            var outShape: [Int] = []
            for d in 0..<r {
                let o = shape[d] + begin[d] + end[d]
                guard o >= 0 else { throw node.invalid("pads \(given) remove more than the input \(shape.shapeDescription)") }
                if mode == .reflect, (begin[d] > 0 || end[d] > 0), shape[d] < 2 || begin[d] >= shape[d] || end[d] >= shape[d] {
                    throw node.invalid("reflect padding \(given) is too large for \(shape.shapeDescription)")
                }
                if mode == .edge || mode == .wrap, shape[d] == 0, o > 0 { throw node.invalid("\(mode) padding of an empty axis") }
                outShape.append(o)
            }
            _ = try node.checkedCount(outShape)
            inShape = shape
            self.outShape = outShape
            self.begin = begin
            self.mode = mode
            self.width = width
        }

        /// Where output position `i` of an axis of `n` input elements reads from; -1 for the
        /// constant value.
        @inline(__always)
        private func position(_ i: Int, _ axis: Int) -> Int {
            let j = i - begin[axis], n = inShape[axis]
            if j >= 0 && j < n { return j }
            switch mode {
            case .constant: return -1
            case .edge: return j < 0 ? 0 : n - 1
            case .reflect: return j < 0 ? -j : 2 * (n - 1) - j
            case .wrap: return ((j % n) + n) % n
            }
        }

        /// Writes the padded `source` into `target`, the constant mode's value being the
        /// `width` bytes at `fill`. Works row by row: the inner axis's in-range part is one
        /// memcpy, only its padded ends go element by element.
        func apply(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, fill: UnsafeRawPointer) {
            let r = outShape.count
            guard r > 0 else { target.copyMemory(from: source, byteCount: width); return }
            let inner = outShape[r - 1], n = inShape[r - 1], b = begin[r - 1]
            let rows = ShapeMath.product(outShape, 0..<(r - 1))
            guard rows * inner > 0 else { return }
            let rowBytes = inner * width, inRowBytes = n * width
            let copyFrom = Swift.max(0, Swift.min(inner, b)), copyTo = Swift.max(copyFrom, Swift.min(inner, b + n))
            withUnsafeTemporaryAllocation(of: Int.self, capacity: r) { scratch in
                let index = scratch.baseAddress!
                index.initialize(repeating: 0, count: r)
                var out = target
                for _ in 0..<rows {
                    // The input row this output row reads, or none (constant padding).
                    var row = 0
                    for d in 0..<(r - 1) {
                        let j = position(index[d], d)
                        if j < 0 { row = -1; break }
                        row = row * inShape[d] + j
                    }
                    if row < 0 {
                        for k in 0..<inner { (out + k * width).copyMemory(from: fill, byteCount: width) }
                    } else {
                        let from = source + row * inRowBytes
                        for k in 0..<copyFrom { element(k, from, out, fill, r - 1) }
                        if copyTo > copyFrom {
                            (out + copyFrom * width).copyMemory(from: from + (copyFrom - b) * width, byteCount: (copyTo - copyFrom) * width)
                        }
                        for k in copyTo..<inner { element(k, from, out, fill, r - 1) }
                    }
                    out += rowBytes
                    var d = r - 2
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < outShape[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }

        @inline(__always)
        private func element(_ k: Int, _ row: UnsafeRawPointer, _ out: UnsafeMutableRawPointer, _ fill: UnsafeRawPointer, _ axis: Int) {
            let j = position(k, axis)
            (out + k * width).copyMemory(from: j < 0 ? fill : row + j * width, byteCount: width)
        }
    }
}

struct CumSumKernel: NodeKernel {
    let exclusive: Bool
    let reverse: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        guard x.elementType != .bool else { throw node.invalid("CumSum needs numeric data") }
        let axis = try Self.axis(try node.required(inputs, 1), rank: x.shape.count, node)
        let layout = Layout(x.shape, axis: axis, exclusive: exclusive, reverse: reverse)
        let storage = TensorStorage.writing(x.elementType, count: x.elementCount, arena: node.context.arena) { target in
            x.storage.withUnsafeBytes { source in layout.apply(source.baseAddress!, target, x.elementType) }
        }
        return [Tensor(shape: x.shape, storage: storage)]
    }

    static func axis(_ axisT: Tensor, rank r: Int, _ node: NodeExecutor) throws(InferenceError) -> Int {
        guard axisT.elementCount == 1 else { throw node.invalid("axis must be a scalar") }
        let a = try node.ints(axisT)[0]
        guard a >= -Int64(r), a < Int64(r) else { throw node.invalid("axis \(a) is out of range") }
        return Int(a < 0 ? a + Int64(r) : a)
    }

    /// The scan's extents for one shape and axis.
    struct Layout: Sendable {
        let outer: Int, n: Int, inner: Int
        let exclusive: Bool, reverse: Bool

        init(_ shape: [Int], axis: Int, exclusive: Bool, reverse: Bool) {
            outer = ShapeMath.product(shape, 0..<axis)
            n = shape[axis]
            inner = ShapeMath.product(shape, (axis + 1)..<shape.count)
            self.exclusive = exclusive
            self.reverse = reverse
        }

        func apply(_ x: UnsafeRawPointer, _ y: UnsafeMutableRawPointer, _ type: ElementType) {
            switch type {
            case .int64: scan(x.assumingMemoryBound(to: Int64.self), y.assumingMemoryBound(to: Int64.self), &+)
            case .int32: scan(x.assumingMemoryBound(to: Int32.self), y.assumingMemoryBound(to: Int32.self), &+)
            default: scan(x.assumingMemoryBound(to: Float.self), y.assumingMemoryBound(to: Float.self), +)
            }
        }

        private func scan<T: AdditiveArithmetic>(_ v: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ plus: (T, T) -> T) {
            for o in 0..<outer {
                for s in 0..<inner {
                    var acc = T.zero
                    for k in 0..<n {
                        let i = reverse ? n - 1 - k : k
                        let idx = (o * n + i) * inner + s
                        let value = v[idx]
                        if exclusive { out[idx] = acc; acc = plus(acc, value) } else { acc = plus(acc, value); out[idx] = acc }
                    }
                }
            }
        }
    }
}

struct PReluKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let slope = try node.required(inputs, 1)
        guard Broadcast.shape(xs, slope.shape) == xs else { throw node.invalid("slope \(slope.shape.shapeDescription) does not broadcast to \(xs.shapeDescription)") }
        // The slope spread to X's shape, so the loop below is one pass over both.
        let spread = slope.shape == xs ? slope.storage : slope.storage.strided(xs, strides: Generic.broadcastStrides(slope.shape, in: xs))
        let y = node.outputFloats(x.count) { out, n in
            x.withUnsafeBufferPointer { px in
                spread.withUnsafeBytes { ps in
                    if let a = px.baseAddress, let b = ps.baseAddress, let o = out.baseAddress {
                        Self.apply(a, b.assumingMemoryBound(to: Float.self), o, count: x.count)
                    }
                }
            }
            n = x.count
        }
        return [Tensor(shape: xs, storage: .float32(y))]
    }

    static func apply(_ x: UnsafePointer<Float>, _ slope: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = x[i] < 0 ? x[i] * slope[i] : x[i] }
    }
}
