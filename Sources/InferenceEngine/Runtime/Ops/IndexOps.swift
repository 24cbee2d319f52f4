extension OperatorCompiler {
    func compileCastLike() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, Self.allTypes), like = try input(1, Self.allTypes)
        _ = try attributes(["saturate", "round_mode"])
        return (CastKernel(to: like.type), [x.shape], [like.type])
    }

    func compileIsSpecial() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, [.float32])
        let isInf = node.opType == "IsInf"
        let attrs = try attributes(isInf ? ["detect_negative", "detect_positive"] : [])
        let neg = try attrs.int("detect_negative", default: 1) != 0, pos = try attrs.int("detect_positive", default: 1) != 0
        return (IsSpecialKernel(isInf: isInf, negative: neg, positive: pos), [x.shape], [.bool])
    }

    func compileGatherElements() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, Self.allTypes), idx = try input(1, Self.indexTypes)
        let attrs = try attributes(["axis"])
        guard x.shape.rank == idx.shape.rank, x.shape.rank >= 1 else { throw fail("data and indices must have the same rank ≥ 1") }
        let axis = try normalizeAxis(try attrs.int("axis", default: 0), rank: x.shape.rank)
        return (GatherElementsKernel(axis: axis), [idx.shape], [x.type])
    }

    func compileScatter() throws(ModelLoadError) -> Compiled {
        try checkArity(3, 3)
        let x = try input(0, Self.allTypes)
        _ = try input(1, node.opType == "ScatterND" ? [.int64] : Self.indexTypes)
        _ = try input(2, [x.type])
        let isND = node.opType == "ScatterND"
        let attrs = try attributes(isND ? ["reduction"] : ["axis", "reduction"])
        let reduction = try string(attrs, "reduction", default: "none")
        guard let r = ScatterKernel.Reduction(rawValue: reduction) else { throw fail("unsupported reduction '\(reduction)'") }
        if r != .none, x.type == .bool { throw fail("reduction '\(reduction)' needs numeric data") }
        let axis = isND ? 0 : try normalizeAxis(try attrs.int("axis", default: 0), rank: x.shape.rank)
        return (ScatterKernel(nd: isND, axis: axis, reduction: r), [x.shape], [x.type])
    }

    func compileTopK() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2, outputs: 2...2)
        let x = try input(0, [.float32, .int64, .int32])
        _ = try input(1, [.int64])
        let attrs = try attributes(["axis", "largest", "sorted"])
        let axis = try normalizeAxis(try attrs.int("axis", default: -1), rank: x.shape.rank)
        let largest = try attrs.int("largest", default: 1) != 0
        var dims = x.shape.dims
        if let k = constantInts(1), k.count == 1 { dims[axis] = .fixed(Int(k[0])) } else { dims[axis] = .unknown }
        return (TopKKernel(axis: axis, largest: largest), [InferredShape(dims), InferredShape(dims)], [x.type, .int64])
    }

    func compileOneHot() throws(ModelLoadError) -> Compiled {
        try checkArity(3, 3)
        let idx = try input(0, [.float32, .int64, .int32])
        _ = try input(1, [.float32, .int64, .int32])
        let values = try input(2, Self.allTypes)
        let attrs = try attributes(["axis"])
        let axis = try normalizeAxis(try attrs.int("axis", default: -1), rank: idx.shape.rank + 1)
        var dims = idx.shape.dims
        dims.insert(.unknown, at: axis)
        if let c = inputs[1]?.constant, c.elementCount == 1 { dims[axis] = .fixed(Int(c.storage.int64Values[0])) }
        return (OneHotKernel(axis: axis), [InferredShape(dims)], [values.type])
    }

    func compileHardmax() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, [.float32])
        let attrs = try attributes(["axis"])
        let axis = try normalizeAxis(try attrs.int("axis", default: opset < 13 ? 1 : -1), rank: Swift.max(x.shape.rank, 1))
        return (HardmaxKernel(axis: axis, coerce: opset < 13), [x.shape], [.float32])
    }

    func compileEyeLike() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(["dtype", "k"])
        guard x.shape.rank == 2 else { throw fail("input must be 2-D") }
        var type = x.type
        if let d = attrs.byName["dtype"] {
            guard d.kind == .int, let t = ElementType(onnxDataType: Int32(truncatingIfNeeded: d.i)), TensorStorage.supportedTypes.contains(t) else {
                throw fail("unsupported dtype")
            }
            type = t
        }
        let k = try attrs.int("k", default: 0)
        guard k.magnitude <= UInt64(ONNXLimits.maxTensorElements) else { throw fail("k \(k) is out of range") }
        return (EyeLikeKernel(k: Int(k), type: type), [x.shape], [type])
    }

    func compileDepthSpace() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        let toSpace = node.opType == "DepthToSpace"
        let attrs = try attributes(toSpace ? ["blocksize", "mode"] : ["blocksize"])
        let b = try attrs.int("blocksize", default: 0)
        guard b >= 1, b <= 1 << 12 else { throw fail("blocksize must be ≥ 1") }
        let mode = try string(attrs, "mode", default: "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw fail("unsupported mode '\(mode)'") }
        guard x.shape.rank == 4 else { throw fail("input must be 4-D") }
        return (DepthSpaceKernel(toSpace: toSpace, block: Int(b), crd: mode == "CRD"), [Self.unknown(rank: 4)], [x.type])
    }
}

struct IsSpecialKernel: NodeKernel {
    let isInf: Bool, negative: Bool, positive: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, s) = try node.floats(inputs[0])
        var v = [Bool](repeating: false, count: x.count)
        x.withUnsafeBufferPointer { px in v.withUnsafeMutableBufferPointer { pv in
            if let a = px.baseAddress, let b = pv.baseAddress { apply(a, b, count: x.count) }
        } }
        return [Tensor(shape: s, storage: .bool(v))]
    }

    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Bool>, count: Int) {
        if isInf {
            for i in 0..<count { y[i] = x[i].isInfinite && ((x[i] > 0 && positive) || (x[i] < 0 && negative)) }
        } else {
            for i in 0..<count { y[i] = x[i].isNaN }
        }
    }
}

extension NodeExecutor {
    /// Normalizes an index along an axis of size `n`, refusing out-of-range values.
    func index(_ v: Int64, _ n: Int) throws(InferenceError) -> Int {
        guard v >= -Int64(n), v < Int64(n) else { throw invalid("index \(v) is out of range for an axis of size \(n)") }
        return Int(v < 0 ? v + Int64(n) : v)
    }
}

struct GatherElementsKernel: NodeKernel {
    let axis: Int
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0), idxT = try node.required(inputs, 1)
        guard idxT.elementType == .int64 || idxT.elementType == .int32 else { throw node.invalid("expected an integer tensor") }
        let layout = try Layout(x.shape, indices: idxT.shape, axis: axis, width: x.elementType.byteWidth ?? 4,
                                indexWidth: idxT.elementType.byteWidth ?? 8, node)
        let storage = try TensorStorage.writing(x.elementType, count: idxT.elementCount, arena: node.context.arena) { (target) throws(InferenceError) in
            let bad: Int64? = x.storage.withUnsafeBytes { source in
                idxT.storage.withUnsafeBytes { indices in layout.gather(source.baseAddress, indices.baseAddress!, target) }
            }
            if let bad { throw node.invalid(Layout.outOfRange(bad, layout.axisSize)) }
        }
        return [Tensor(shape: idxT.shape, storage: storage)]
    }

    /// The element gather for one data and indices shape, on raw bytes.
    struct Layout: Sendable {
        /// Per dimension: the indices' extent and the data's stride (elements).
        let dims: [Int], strides: [Int]
        let axis: Int, axisSize: Int
        let count: Int
        let width: Int, indexWidth: Int

        init(_ shape: [Int], indices: [Int], axis: Int, width: Int, indexWidth: Int, _ node: NodeExecutor) throws(InferenceError) {
            guard indices.count == shape.count else { throw node.invalid("ranks differ") }
            for d in 0..<shape.count where d != axis && indices[d] > shape[d] {
                throw node.invalid("indices \(indices.shapeDescription) exceed data \(shape.shapeDescription)")
            }
            dims = indices
            strides = ShapeMath.strides(shape)
            self.axis = axis
            axisSize = shape[axis]
            count = ShapeMath.product(indices, 0..<indices.count)
            self.width = width
            self.indexWidth = indexWidth
        }

        static func outOfRange(_ v: Int64, _ n: Int) -> String { "index \(v) is out of range for an axis of size \(n)" }

        /// Copies `data[..., indices[i], ...]` for every index position; returns the first
        /// out-of-range index (nothing is written then).
        func gather(_ data: UnsafeRawPointer?, _ indices: UnsafeRawPointer, _ target: UnsafeMutableRawPointer) -> Int64? {
            guard count > 0, let data else { return nil }
            let n = Int64(axisSize)
            for i in 0..<count {
                let v = index(indices, i)
                if v < -n || v >= n { return v }
            }
            let rank = dims.count
            withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { scratch in
                let position = scratch.baseAddress!
                position.initialize(repeating: 0, count: rank)
                // Offset of the current position with the axis coordinate left out.
                var offset = 0
                for i in 0..<count {
                    var v = Int(index(indices, i))
                    if v < 0 { v += axisSize }
                    (target + i * width).copyMemory(from: data + (offset + v * strides[axis]) * width, byteCount: width)
                    var d = rank - 1
                    while d >= 0 {
                        position[d] += 1
                        if d != axis { offset += strides[d] }
                        if position[d] < dims[d] { break }
                        if d != axis { offset -= strides[d] * dims[d] }
                        position[d] = 0
                        d -= 1
                    }
                }
            }
            return nil
        }

        @inline(__always)
        private func index(_ indices: UnsafeRawPointer, _ j: Int) -> Int64 {
            indexWidth == 8 ? indices.load(fromByteOffset: j * 8, as: Int64.self) : Int64(indices.load(fromByteOffset: j * 4, as: Int32.self))
        }
    }
}

struct ScatterKernel: NodeKernel {
    enum Reduction: String, Sendable { case none, add, mul, max, min }
    let nd: Bool
    let axis: Int
    let reduction: Reduction

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0), idxT = try node.required(inputs, 1), upd = try node.required(inputs, 2)
        let idx = try node.ints(idxT)
        let inStrides = ShapeMath.strides(x.shape)
        // (destination offset, update offset) pairs.
        var pairs: [(Int, Int)] = []
        if nd {
            guard let k = idxT.shape.last, k <= x.shape.count, idxT.shape.count >= 1 else { throw node.invalid("bad indices shape") }
            let rows = idx.count / Swift.max(k, 1)
            let slice = ShapeMath.product(x.shape, k..<x.shape.count)
            guard upd.shape == Array(idxT.shape.dropLast()) + Array(x.shape[k...]) else { throw node.invalid("updates shape does not match") }
            for r in 0..<rows {
                var base = 0
                for j in 0..<k { base += try node.index(idx[r * k + j], x.shape[j]) * inStrides[j] }
                for e in 0..<slice { pairs.append((base + e, r * slice + e)) }
            }
        } else {
            guard upd.shape == idxT.shape, idxT.shape.count == x.shape.count else { throw node.invalid("indices and updates shapes differ") }
            let uStrides = ShapeMath.strides(idxT.shape)
            for i in 0..<idx.count {
                var rem = i, off = 0
                for d in 0..<x.shape.count {
                    let c = rem / uStrides[d]
                    rem -= c * uStrides[d]
                    guard d == axis || c < x.shape[d] else { throw node.invalid("indices exceed data") }
                    off += (d == axis ? try node.index(idx[i], x.shape[axis]) : c) * inStrides[d]
                }
                pairs.append((off, i))
            }
        }
        func apply<T>(_ data: [T], _ u: [T], _ combine: (T, T) -> T) -> [T] {
            var out = data
            for (d, s) in pairs { out[d] = reduction == .none ? u[s] : combine(out[d], u[s]) }
            return out
        }
        let out: TensorStorage
        switch (x.storage, upd.storage) {
        case (.float32(let a), .float32(let b)):
            out = .float32(apply(a, b) { p, q in
                switch reduction { case .add: p + q; case .mul: p * q; case .max: Swift.max(p, q); case .min: Swift.min(p, q); case .none: q }
            })
        case (.int64(let a), .int64(let b)):
            out = .int64(apply(a, b) { p, q in
                switch reduction { case .add: p &+ q; case .mul: p &* q; case .max: Swift.max(p, q); case .min: Swift.min(p, q); case .none: q }
            })
        case (.int32(let a), .int32(let b)):
            out = .int32(apply(a, b) { p, q in
                switch reduction { case .add: p &+ q; case .mul: p &* q; case .max: Swift.max(p, q); case .min: Swift.min(p, q); case .none: q }
            })
        case (.bool(let a), .bool(let b)): out = .bool(apply(a, b) { _, q in q })
        default: throw node.invalid("data and updates types differ")
        }
        return [Tensor(shape: x.shape, storage: out)]
    }
}

struct TopKKernel: NodeKernel {
    let axis: Int
    let largest: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let kT = try node.ints(try node.required(inputs, 1))
        let n = x.shape[axis]
        guard kT.count == 1, kT[0] >= 0, kT[0] <= Int64(n) else { throw node.invalid("k must be a scalar in 0...\(n)") }
        let k = Int(kT[0])
        let outer = ShapeMath.product(x.shape, 0..<axis), inner = ShapeMath.product(x.shape, (axis + 1)..<x.shape.count)
        let v = x.storage.floatValues, exact = x.storage.int64Values
        let isFloat = x.elementType == .float32
        var src: [Int] = [], order: [Int64] = []
        var outShape = x.shape
        outShape[axis] = k
        src = [Int](repeating: 0, count: outer * k * inner)
        order = [Int64](repeating: 0, count: outer * k * inner)
        for o in 0..<outer {
            for s in 0..<inner {
                let base = o * n * inner + s
                var ids = Array(0..<n)
                // Stable: ties keep the lower index first (onnxruntime / ONNX behaviour).
                ids.sort { i, j in
                    let a = base + i * inner, b = base + j * inner
                    if isFloat {
                        if v[a] == v[b] || (v[a].isNaN && v[b].isNaN) { return i < j }
                        if v[a].isNaN { return largest }
                        if v[b].isNaN { return !largest }
                        return largest ? v[a] > v[b] : v[a] < v[b]
                    }
                    if exact[a] == exact[b] { return i < j }
                    return largest ? exact[a] > exact[b] : exact[a] < exact[b]
                }
                for r in 0..<k {
                    let dst = (o * k + r) * inner + s
                    src[dst] = base + ids[r] * inner
                    order[dst] = Int64(ids[r])
                }
            }
        }
        return [Tensor(shape: outShape, storage: x.storage.gathered(src)), Tensor(shape: outShape, storage: .int64(order))]
    }
}

struct OneHotKernel: NodeKernel {
    let axis: Int
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let idxT = try node.required(inputs, 0), depthT = try node.required(inputs, 1), values = try node.required(inputs, 2)
        guard depthT.elementCount == 1, values.elementCount == 2 else { throw node.invalid("depth must be a scalar and values have 2 elements") }
        let depthF = depthT.storage.floatValues[0]
        guard depthF >= 1, depthF <= Float(ONNXLimits.maxComputedElements) else { throw node.invalid("invalid depth \(depthF)") }
        let depth = Int(depthF)
        let idx = idxT.storage.int64Values
        var outShape = idxT.shape
        outShape.insert(depth, at: axis)
        let count = try node.checkedCount(outShape)
        let outer = ShapeMath.product(idxT.shape, 0..<axis), inner = ShapeMath.product(idxT.shape, axis..<idxT.shape.count)
        var pick = [Int](repeating: 0, count: count)   // 0 = off value, 1 = on value
        for o in 0..<outer {
            for s in 0..<inner {
                var i = idx[o * inner + s]
                if i < 0 { i += Int64(depth) }
                if i >= 0 && i < Int64(depth) { pick[(o * depth + Int(i)) * inner + s] = 1 }
            }
        }
        return [Tensor(shape: outShape, storage: values.storage.gathered(pick))]
    }
}

struct HardmaxKernel: NodeKernel {
    let axis: Int
    let coerce: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        [try node.mapAlongAxis(inputs[0], axis: axis, coerce: coerce, Self.apply)]
    }

    static func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ e: AxisExtents) {
        let (n, inner) = (e.length, e.inner)
        y.initialize(repeating: 0, count: e.count)
        for o in 0..<e.outer {
            for s in 0..<inner where n > 0 {
                let base = o * n * inner + s
                var best = 0
                for i in 1..<n where x[base + i * inner] > x[base + best * inner] { best = i }
                y[base + best * inner] = 1
            }
        }
    }
}

struct EyeLikeKernel: NodeKernel {
    let k: Int
    let type: ElementType
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        [make(try node.required(inputs, 0).shape)]
    }

    /// The output depends on the input's shape alone.
    func make(_ shape: [Int]) -> Tensor {
        let rows = shape[0], cols = shape[1]
        var v = [Int64](repeating: 0, count: rows * cols)
        for i in 0..<rows { let j = i + k; if j >= 0 && j < cols { v[i * cols + j] = 1 } }
        return Tensor(shape: shape, storage: TensorStorage.int64(v).cast(to: type))
    }
}

struct DepthSpaceKernel: NodeKernel {
    let toSpace: Bool
    let block: Int
    let crd: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let view = try self.view(x.shape, node)
        return [Tensor(shape: view.outShape, storage: x.storage.strided(view.shape, strides: view.strides, arena: node.context.arena,
                                                                       pool: node.context.pool))]
    }

    /// The rearrangement as a strided view: the input seen as 6-D blocks, permuted.
    func view(_ shape: [Int], _ node: NodeExecutor) throws(InferenceError) -> (outShape: [Int], shape: [Int], strides: [Int]) {
        guard shape.count == 4 else { throw node.invalid("input must be 4-D") }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let b = block
        let view: [Int], perm: [Int], outShape: [Int]
        if toSpace {
            guard c % (b * b) == 0 else { throw node.invalid("channels \(c) are not divisible by blocksize² \(b * b)") }
            let oc = c / (b * b)
            if crd { view = [n, oc, b, b, h, w]; perm = [0, 1, 4, 2, 5, 3] } else { view = [n, b, b, oc, h, w]; perm = [0, 3, 4, 1, 5, 2] }
            outShape = [n, oc, h * b, w * b]
        } else {
            guard h % b == 0, w % b == 0 else { throw node.invalid("spatial size is not divisible by blocksize \(b)") }
            view = [n, c, h / b, b, w / b, b]; perm = [0, 3, 5, 1, 2, 4]
            outShape = [n, c * b * b, h / b, w / b]
        }
        let strides = ShapeMath.strides(view)
        return (outShape, perm.map { view[$0] }, perm.map { strides[$0] })
    }
}
