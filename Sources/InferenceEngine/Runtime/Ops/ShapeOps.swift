// MARK: Compile

extension OperatorCompiler {
    func compileShape() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(["start", "end"])
        let rank = x.shape.rank
        func clamp(_ v: Int64) -> Int { let r = Int64(rank); return Int(Swift.min(Swift.max(v < 0 ? v + r : v, 0), r)) }
        let start = clamp(try attrs.int("start", default: 0))
        let end = clamp(try attrs.int("end", default: Int64(rank)))
        let count = Swift.max(end - start, 0)
        return (ShapeKernel(start: start, end: Swift.max(end, start)), [InferredShape(fixed: [count])], [.int64])
    }

    func compileSize() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        _ = try input(0, Self.allTypes)
        _ = try attributes([])
        return (SizeKernel(), [InferredShape(fixed: [])], [.int64])
    }

    func compileGather() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let data = try input(0, Self.allTypes)
        let indices = try input(1, Self.indexTypes)
        let attrs = try attributes(["axis"])
        guard data.shape.rank >= 1 else { throw fail("data must have rank ≥ 1") }
        let axis = try normalizeAxis(try attrs.int("axis", default: 0), rank: data.shape.rank)
        let d = data.shape.dims
        let out = Array(d[..<axis]) + indices.shape.dims + Array(d[(axis + 1)...])
        guard out.count <= ONNXLimits.maxRank else { throw fail("output rank \(out.count) exceeds \(ONNXLimits.maxRank)") }
        return (GatherKernel(axis: axis), [InferredShape(out)], [data.type])
    }

    func compileConcat() throws(ModelLoadError) -> Compiled {
        guard !node.inputs.isEmpty, node.outputs.count == 1 else { throw fail("expects ≥ 1 inputs and 1 output") }
        let first = try input(0, Self.allTypes)
        var all = [first]
        for i in 1..<node.inputs.count { all.append(try input(i, [first.type])) }
        let attrs = try attributes(["axis"])
        let rank = first.shape.rank
        guard rank >= 1 else { throw fail("inputs must have rank ≥ 1") }
        let axis = try normalizeAxis(try attrs.int("axis", default: 0), rank: rank)
        var dims = first.shape.dims
        var total: Int? = 0
        for f in all {
            guard f.shape.rank == rank else { throw fail("all inputs must have rank \(rank), got \(f.shape.description)") }
            for i in 0..<rank where i != axis {
                if let a = dims[i].fixedValue, let b = f.shape.dims[i].fixedValue, a != b {
                    throw fail("inputs \(first.shape.description) and \(f.shape.description) differ outside axis \(axis)")
                }
                if dims[i] == .unknown { dims[i] = f.shape.dims[i] }
            }
            if let t = total, let v = f.shape.dims[axis].fixedValue { total = t + v } else { total = nil }
        }
        dims[axis] = total.map { .fixed($0) } ?? .unknown
        return (ConcatKernel(axis: axis), [InferredShape(dims)], [first.type])
    }

    func compileSlice() throws(ModelLoadError) -> Compiled {
        try checkArity(3, 5)
        let x = try input(0, Self.allTypes)
        for i in 1..<node.inputs.count where !node.inputs[i].isEmpty { _ = try input(i, Self.indexTypes) }
        _ = try attributes([])
        let rank = x.shape.rank
        var dims = x.shape.dims
        if let starts = constantInts(1), let ends = constantInts(2) {
            let axes = node.inputs.count > 3 && !node.inputs[3].isEmpty ? constantInts(3) : (0..<Int64(starts.count)).map { $0 }
            let steps = node.inputs.count > 4 && !node.inputs[4].isEmpty ? constantInts(4) : [Int64](repeating: 1, count: starts.count)
            if let axes, let steps {
                guard axes.count == starts.count, ends.count == starts.count, steps.count == starts.count else {
                    throw fail("starts, ends, axes and steps must have the same length")
                }
                for (i, a) in axes.enumerated() {
                    let axis = try normalizeAxis(a, rank: rank)
                    guard steps[i] != 0 else { throw fail("steps must not be 0") }
                    if let n = dims[axis].fixedValue {
                        let (_, count) = SliceKernel.range(start: starts[i], end: ends[i], step: steps[i], size: n)
                        dims[axis] = .fixed(count)
                    } else {
                        dims[axis] = .unknown
                    }
                }
                return (SliceKernel(), [InferredShape(dims)], [x.type])
            }
        }
        if let axes = node.inputs.count > 3 && !node.inputs[3].isEmpty ? constantInts(3) : nil {
            for a in axes { dims[try normalizeAxis(a, rank: rank)] = .unknown }
            return (SliceKernel(), [InferredShape(dims)], [x.type])
        }
        return (SliceKernel(), [Self.unknown(rank: rank)], [x.type])
    }

    func compileSplit() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 2, outputs: 1...ONNXLimits.maxNodeArity)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(opset >= 18 ? ["axis", "num_outputs"] : (opset >= 13 ? ["axis"] : ["axis", "split"]))
        let axis = try normalizeAxis(try attrs.int("axis", default: 0), rank: x.shape.rank)
        var split: [Int64]? = try ints(attrs, "split")
        var runtimeSplit = false
        if node.inputs.count > 1, !node.inputs[1].isEmpty {
            _ = try input(1, [.int64])
            if let s = constantInts(1) { split = s } else { runtimeSplit = true }
        }
        let n = node.outputs.count
        if let s = split {
            guard s.count == n else { throw fail("split has \(s.count) entries for \(n) outputs") }
            guard s.allSatisfy({ $0 >= 0 }) else { throw fail("split sizes must be ≥ 0") }
            if let d = x.shape.dims[axis].fixedValue, Int64(d) != s.reduce(0, +) {
                throw fail("split sizes \(s) do not add up to dimension \(d)")
            }
        }
        let numOutputs = try attrs.int("num_outputs", default: 0)
        if numOutputs != 0, numOutputs != n { throw fail("num_outputs=\(numOutputs) but the node has \(n) outputs") }
        var shapes: [InferredShape] = []
        for i in 0..<n {
            var dims = x.shape.dims
            if runtimeSplit { dims[axis] = .unknown } else if let s = split { dims[axis] = .fixed(Int(s[i])) } else if let d = dims[axis].fixedValue {
                let sizes = SplitKernel.equalSizes(d, parts: n, uneven: numOutputs != 0)
                guard let sizes else { throw fail("dimension \(d) cannot be split into \(n) equal parts") }
                dims[axis] = .fixed(sizes[i])
            } else { dims[axis] = .unknown }
            shapes.append(InferredShape(dims))
        }
        return (SplitKernel(axis: axis, split: split?.map { Int($0) }, runtimeSplit: runtimeSplit, uneven: numOutputs != 0, count: n), shapes, [ElementType](repeating: x.type, count: n))
    }

    /// Axes from the input (opset ≥ 13, or ≥ 18 for reductions) or the attribute; constant.
    func axesArgument(_ attrs: AttributeSet, inputIndex: Int, fromInput: Bool) throws(ModelLoadError) -> [Int64]? {
        if fromInput {
            guard node.inputs.count > inputIndex, !node.inputs[inputIndex].isEmpty else { return nil }
            _ = try input(inputIndex, [.int64])
            guard let v = constantInts(inputIndex) else { throw fail("the axes input must be a constant (initializer, Constant or computable at load)") }
            return v
        }
        return try ints(attrs, "axes")
    }

    func compileSqueeze() throws(ModelLoadError) -> Compiled {
        try checkArity(1, opset >= 13 ? 2 : 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(opset >= 13 ? [] : ["axes"])
        let rank = x.shape.rank
        if opset >= 13, node.inputs.count > 1, !node.inputs[1].isEmpty, inputs[1]?.constant == nil {
            let a = try input(1, [.int64])
            guard a.shape.rank == 1, let n = a.shape.dims[0].fixedValue, n <= rank else { throw fail("the axes input must be 1-D with a length known at load") }
            return (ReshapeKernel(mode: .squeezeInput), [Self.unknown(rank: rank - n)], [x.type])
        }
        let axes = try axesArgument(attrs, inputIndex: 1, fromInput: opset >= 13)
        var remove = Set<Int>()
        if let axes {
            for a in axes {
                let axis = try normalizeAxis(a, rank: rank)
                if let d = x.shape.dims[axis].fixedValue, d != 1 { throw fail("cannot squeeze axis \(axis) of size \(d)") }
                remove.insert(axis)
            }
        } else {
            for (i, d) in x.shape.dims.enumerated() {
                switch d {
                case .fixed(1): remove.insert(i)
                case .fixed: break
                default: throw fail("Squeeze without axes needs all dimensions known at load, got \(x.shape.description)")
                }
            }
        }
        let dims = x.shape.dims.enumerated().filter { !remove.contains($0.offset) }.map(\.element)
        return (ReshapeKernel(mode: .squeeze(remove.sorted())), [InferredShape(dims)], [x.type])
    }

    func compileUnsqueeze() throws(ModelLoadError) -> Compiled {
        try checkArity(opset >= 13 ? 2 : 1, opset >= 13 ? 2 : 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(opset >= 13 ? [] : ["axes"])
        if opset >= 13, inputs.count > 1, inputs[1]?.constant == nil {
            let a = try input(1, [.int64])
            guard a.shape.rank == 1, let n = a.shape.dims[0].fixedValue, x.shape.rank + n <= ONNXLimits.maxRank else {
                throw fail("the axes input must be 1-D with a length known at load")
            }
            return (ReshapeKernel(mode: .unsqueezeInput), [Self.unknown(rank: x.shape.rank + n)], [x.type])
        }
        guard let axes = try axesArgument(attrs, inputIndex: 1, fromInput: opset >= 13) else { throw fail("axes are required") }
        let outRank = x.shape.rank + axes.count
        guard outRank <= ONNXLimits.maxRank else { throw fail("output rank \(outRank) exceeds \(ONNXLimits.maxRank)") }
        var inserted = Set<Int>()
        for a in axes {
            guard inserted.insert(try normalizeAxis(a, rank: outRank)).inserted else { throw fail("axes \(axes) repeat an axis") }
        }
        var dims: [InferredShape.Dim] = []
        var j = 0
        for i in 0..<outRank {
            if inserted.contains(i) { dims.append(.fixed(1)) } else { dims.append(x.shape.dims[j]); j += 1 }
        }
        return (ReshapeKernel(mode: .unsqueeze(inserted.sorted())), [InferredShape(dims)], [x.type])
    }

    func compileFlattenAny() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(["axis"])
        let a = try normalizeAxis(try attrs.int("axis", default: 1), rank: x.shape.rank, inclusiveEnd: true)
        let dims = x.shape.dims
        return (ReshapeKernel(mode: .flatten(a)), [InferredShape([InferredShape.product(dims[..<a]), InferredShape.product(dims[a...])])], [x.type])
    }

    func compileDynamicReshape() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, Self.allTypes)
        let s = try input(1, [.int64])
        let attrs = try attributes(["allowzero"])
        let allowZero = try attrs.flag("allowzero")
        if s.constant != nil {
            // Constant shape on non-float data: reuse the float path's inference.
            var probe = inputs
            probe[0] = ValueFacts(shape: x.shape, type: .float32, constant: nil)
            let (op, shapes) = try OperatorCompiler(node: node, label: label, inputs: probe, opset: opset).compile()
            guard case .reshape(let target, let zero) = op else { throw fail("internal: unexpected reshape compilation") }
            return (ReshapeKernel(mode: .reshape(target, allowZero: zero)), shapes, [x.type])
        }
        let n = try vectorLength(s)
        return (ReshapeKernel(mode: .dynamic(allowZero: allowZero)), [symbolicReshape(x.shape, s.symbolicValue, allowZero: allowZero) ?? Self.unknown(rank: n)], [x.type])
    }

    /// The Reshape output for a target known symbolically (from a Shape subgraph).
    func symbolicReshape(_ input: InferredShape, _ target: [InferredShape.Dim]?, allowZero: Bool) -> InferredShape? {
        guard let target, target.count <= ONNXLimits.maxRank else { return nil }
        // A -1 arrives as .unknown from constants: it is inferred below only when it is the only unknown.
        var out: [InferredShape.Dim] = []
        for (i, d) in target.enumerated() {
            if case .fixed(0) = d, !allowZero { out.append(i < input.rank ? input.dims[i] : .unknown) } else { out.append(d) }
        }
        let unknowns = out.indices.filter { out[$0] == .unknown }
        if unknowns.count == 1, let whole = InferredShape.factor(input.dims[...]) {
            var rest = out
            rest.remove(at: unknowns[0])
            if let part = InferredShape.factor(rest[...]), part.fixed != 0, whole.fixed % part.fixed == 0 {
                var remaining = whole.symbols
                var subset = true
                for s in part.symbols { if let j = remaining.firstIndex(of: s) { remaining.remove(at: j) } else { subset = false } }
                let ratio = whole.fixed / part.fixed
                if subset && remaining.isEmpty { out[unknowns[0]] = .fixed(ratio) } else if subset && remaining.count == 1 && ratio == 1 { out[unknowns[0]] = .symbolic(remaining[0]) }
            }
        }
        return InferredShape(out)
    }

    func compileTranspose() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, Self.allTypes)
        let attrs = try attributes(["perm"])
        let rank = x.shape.rank
        let perm = try ints(attrs, "perm").map { $0.map { Int($0) } } ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw fail("perm \(perm) is not a permutation of 0..<\(rank)") }
        return (TransposeKernel(perm: perm), [InferredShape(perm.map { x.shape.dims[$0] })], [x.type])
    }

    func compileExpand() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, Self.allTypes)
        let s = try input(1, [.int64])
        _ = try attributes([])
        if let c = constantInts(1) {
            let target = c.map { InferredShape.Dim.fixed(Int(Swift.max($0, 0))) }
            guard let dims = InferredShape.broadcast(x.shape.dims, target) else {
                throw fail("input \(x.shape.description) cannot be expanded to \(c)")
            }
            return (ExpandKernel(), [InferredShape(dims)], [x.type])
        }
        let n = try vectorLength(s)
        if let target = s.symbolicValue, let dims = InferredShape.broadcast(x.shape.dims, target) {
            return (ExpandKernel(), [InferredShape(dims)], [x.type])
        }
        return (ExpandKernel(), [Self.unknown(rank: Swift.max(n, x.shape.rank))], [x.type])
    }

    func compileConstantOfShape() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let s = try input(0, [.int64])
        let attrs = try attributes(["value"])
        var value = Tensor(shape: [1], scalars: [0])
        if let a = attrs.byName["value"] {
            guard a.kind == .tensor, let t = a.t else { throw fail("attribute 'value' must be a TENSOR") }
            value = try TensorDecoder.decode(t, what: "ConstantOfShape (node '\(label)') value")
            guard value.elementCount == 1 else { throw fail("value must have exactly one element") }
        }
        let n = try vectorLength(s)
        let shape = constantInts(0).map { InferredShape(fixed: $0.map { Int(Swift.max($0, 0)) }) }
            ?? s.symbolicValue.map(InferredShape.init) ?? Self.unknown(rank: n)
        return (ConstantOfShapeKernel(value: value), [shape], [value.elementType])
    }

    func compileRange() throws(ModelLoadError) -> Compiled {
        try checkArity(3, 3)
        let start = try input(0, Self.numericTypes)
        for i in 1...2 { _ = try input(i, [start.type]) }
        _ = try attributes([])
        return (RangeKernel(), [InferredShape([.unknown])], [start.type])
    }

    func compileTrilu() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 2)
        let x = try input(0, Self.allTypes)
        _ = try optionalInput(1, [.int64])
        let attrs = try attributes(["upper"])
        guard x.shape.rank >= 2 else { throw fail("input must have rank ≥ 2") }
        return (TriluKernel(upper: try attrs.flag("upper") || attrs.byName["upper"] == nil), [x.shape], [x.type])
    }

    func compileTile() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 2)
        let x = try input(0, Self.allTypes)
        _ = try input(1, [.int64])
        _ = try attributes([])
        var dims = Self.unknown(rank: x.shape.rank).dims
        if let r = constantInts(1) {
            guard r.count == x.shape.rank else { throw fail("repeats has \(r.count) entries for rank \(x.shape.rank)") }
            for i in 0..<r.count {
                guard r[i] >= 0 else { throw fail("repeats must be ≥ 0") }
                if let d = x.shape.dims[i].fixedValue {
                    let (p, overflow) = d.multipliedReportingOverflow(by: Int(r[i]))
                    dims[i] = overflow ? .unknown : .fixed(p)
                } else if r[i] == 1 { dims[i] = x.shape.dims[i] }
            }
        }
        return (TileKernel(), [InferredShape(dims)], [x.type])
    }
}

// MARK: Kernels

extension NodeExecutor {
    func ints(_ t: Tensor) throws(InferenceError) -> [Int64] {
        guard t.elementType == .int64 || t.elementType == .int32 else { throw invalid("expected an integer tensor") }
        return t.storage.int64Values
    }

    func checkedCount(_ shape: [Int]) throws(InferenceError) -> Int {
        guard let n = ShapeMath.elementCount(shape, limit: ONNXLimits.maxComputedElements) else {
            throw invalid("output shape \(shape.shapeDescription) is invalid or exceeds \(ONNXLimits.maxComputedElements) elements")
        }
        return n
    }
}

struct ShapeKernel: NodeKernel {
    let start: Int, end: Int
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let dims = x.shape[start..<Swift.min(end, x.shape.count)].map { Int64($0) }
        return [Tensor(shape: [dims.count], storage: .int64(dims))]
    }
}

struct SizeKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        [Tensor(shape: [], storage: .int64([Int64(try node.required(inputs, 0).elementCount)]))]
    }
}

struct GatherKernel: NodeKernel {
    let axis: Int

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let data = try node.required(inputs, 0), idxT = try node.required(inputs, 1)
        guard idxT.elementType == .int64 || idxT.elementType == .int32 else { throw node.invalid("expected an integer tensor") }
        let shape = data.shape
        let n = shape[axis]
        let outer = ShapeMath.product(shape, 0..<axis), inner = ShapeMath.product(shape, (axis + 1)..<shape.count)
        _ = try node.checkedCount([outer, idxT.elementCount, inner])
        let outShape = Array(shape[..<axis]) + idxT.shape + Array(shape[(axis + 1)...])
        let layout = Layout(outer: outer, axisSize: n, inner: inner, count: idxT.elementCount,
                            width: data.elementType.byteWidth ?? 4, indexWidth: idxT.elementType.byteWidth ?? 8)
        let storage = try TensorStorage.writing(data.elementType, count: outer * idxT.elementCount * inner,
                                                arena: node.context.arena) { (target) throws(InferenceError) in
            let bad: Int64? = data.storage.withUnsafeBytes { source in
                idxT.storage.withUnsafeBytes { indices in
                    layout.gather(source.baseAddress, indices.baseAddress, target, pool: node.context.pool)
                }
            }
            if let bad { throw node.invalid(Self.outOfRange(bad, axis: axis, size: n)) }
        }
        return [Tensor(shape: outShape, storage: storage)]
    }

    static func outOfRange(_ index: Int64, axis: Int, size: Int) -> String {
        "index \(index) is out of range for axis \(axis) of size \(size)"
    }

    /// Gather's extents for one data and indices shape, and the copy itself on raw bytes.
    struct Layout: Sendable {
        let outer: Int, axisSize: Int, inner: Int
        /// Number of indices.
        let count: Int
        /// Bytes per data element and per index (8 for int64, 4 for int32).
        let width: Int, indexWidth: Int

        /// Copies every indexed slice of `data` into `target`; the indices are all checked
        /// first, so an out-of-range one (returned) leaves nothing half written.
        func gather(_ data: UnsafeRawPointer?, _ indices: UnsafeRawPointer?, _ target: UnsafeMutableRawPointer,
                    pool: IntraOpPool?) -> Int64? {
            guard outer * count * inner > 0, let data, let indices else { return nil }
            let n = Int64(axisSize)
            for j in 0..<count {
                let v = index(indices, j)
                if v < -n || v >= n { return v }
            }
            let sliceBytes = inner * width
            IntraOpPool.forEachChunk(of: outer, on: pool, worthSplitting: outer * count * sliceBytes >= StridedCopy.parallelBytes) { range in
                for o in range {
                    let from = data + o * axisSize * sliceBytes
                    var to = target + o * count * sliceBytes
                    for j in 0..<count {
                        var v = Int(index(indices, j))
                        if v < 0 { v += axisSize }
                        let row = from + v * sliceBytes
                        switch sliceBytes {
                        case 4: to.storeBytes(of: row.load(as: UInt32.self), as: UInt32.self)
                        case 8: to.storeBytes(of: row.load(as: UInt64.self), as: UInt64.self)
                        default: to.copyMemory(from: row, byteCount: sliceBytes)
                        }
                        to += sliceBytes
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

struct ConcatKernel: NodeKernel {
    let axis: Int
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var parts: [Tensor] = []
        for i in 0..<inputs.count { parts.append(try node.required(inputs, i)) }
        let first = parts[0].shape
        var total = 0
        for p in parts {
            guard p.shape.count == first.count, p.elementType == parts[0].elementType else {
                throw node.invalid("inputs \(parts.map { $0.shape.shapeDescription }.joined(separator: ", ")) cannot be concatenated")
            }
            for i in 0..<first.count where i != axis && p.shape[i] != first[i] {
                throw node.invalid("inputs \(parts.map { $0.shape.shapeDescription }.joined(separator: ", ")) differ outside axis \(axis)")
            }
            total += p.shape[axis]
        }
        var outShape = first
        outShape[axis] = total
        if parts.count == 1 { return [parts[0]] }
        let layout = Layout(axis: axis, shapes: parts.map(\.shape), width: parts[0].elementType.byteWidth ?? 4)
        let storage = TensorStorage.writing(parts[0].elementType, count: ShapeMath.product(outShape, 0..<outShape.count),
                                            arena: node.context.arena) { target in
            Self.withSources(parts.map(\.storage), []) { sources in
                layout.concatenate(into: target, pool: node.context.pool) { sources[$0] }
            }
        }
        return [Tensor(shape: outShape, storage: storage)]
    }

    /// The byte addresses of every storage at once, one nesting level per storage.
    private static func withSources(_ storages: [TensorStorage], _ collected: [UnsafeRawPointer],
                                    _ body: ([UnsafeRawPointer]) -> Void) {
        guard collected.count < storages.count else { body(collected); return }
        storages[collected.count].withUnsafeBytes { bytes in
            withSources(storages, collected + [bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!], body)
        }
    }

    /// Concat's runs for one tuple of input shapes: each part contributes one run of
    /// `shape[axis]·inner` elements per outer index.
    struct Layout: Sendable {
        let outer: Int
        /// Bytes of part `p`'s run.
        let runBytes: [Int]
        /// Bytes of one output row (all parts' runs).
        let rowBytes: Int

        init(axis: Int, shapes: [[Int]], width: Int) {
            let first = shapes[0]
            outer = ShapeMath.product(first, 0..<axis)
            let inner = ShapeMath.product(first, (axis + 1)..<first.count)
            runBytes = shapes.map { $0[axis] * inner * width }
            rowBytes = runBytes.reduce(0, +)
        }

        /// Writes the concatenation of the parts whose bytes `source(p)` gives into `target`.
        func concatenate(into target: UnsafeMutableRawPointer, pool: IntraOpPool?, _ source: (Int) -> UnsafeRawPointer) {
            guard outer * rowBytes > 0 else { return }
            IntraOpPool.forEachChunk(of: outer, on: pool, worthSplitting: outer * rowBytes >= StridedCopy.parallelBytes) { range in
                var offset = 0
                for (p, bytes) in runBytes.enumerated() where bytes > 0 {
                    let from = source(p)
                    for o in range {
                        (target + o * rowBytes + offset).copyMemory(from: from + o * bytes, byteCount: bytes)
                    }
                    offset += bytes
                }
            }
        }
    }
}

struct SliceKernel: NodeKernel {
    /// numpy-style clamping of one axis: the first index and the element count.
    static func range(start: Int64, end: Int64, step: Int64, size n: Int) -> (first: Int, count: Int) {
        let dim = Int64(n)
        var s = start < 0 ? start &+ dim : start
        var e = end < 0 ? end &+ dim : end
        // Written so that no intermediate can overflow, whatever start/end/step the file holds.
        if step > 0 {
            s = Swift.min(Swift.max(s, 0), dim)
            e = Swift.min(Swift.max(e, 0), dim)
            return (Int(s), e > s ? Int((e - s - 1) / step + 1) : 0)
        } else {
            s = Swift.min(Swift.max(s, -1), dim - 1)
            e = Swift.min(Swift.max(e, -1), dim - 1)
            let magnitude = step == Int64.min ? Int64.max : -step
            return (Int(s), s > e ? Int((s - e - 1) / magnitude + 1) : 0)
        }
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let starts = try node.ints(try node.required(inputs, 1)), ends = try node.ints(try node.required(inputs, 2))
        let axes = try inputs.count > 3 && inputs[3] != nil ? node.ints(inputs[3]!) : nil
        let steps = try inputs.count > 4 && inputs[4] != nil ? node.ints(inputs[4]!) : nil
        let view = try Self.view(x.shape, starts: starts, ends: ends, axes: axes, steps: steps, node)
        if view.identity { return [x] }
        return [Tensor(shape: view.shape, storage: x.storage.strided(view.shape, base: view.base, strides: view.strides,
                                                                     arena: node.context.arena, pool: node.context.pool))]
    }

    /// The slice of a tensor of shape `shape` as a strided view of it; `identity` when it is
    /// the whole tensor in order. `axes` and `steps` nil when the node omits them.
    static func view(_ shape: [Int], starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?,
                     _ node: NodeExecutor) throws(InferenceError) -> (shape: [Int], base: Int, strides: [Int], identity: Bool) {
        let rank = shape.count
        let axes = axes ?? (0..<Int64(starts.count)).map { $0 }
        let steps = steps ?? [Int64](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw node.invalid("starts, ends, axes and steps must have the same length")
        }
        var first = [Int](repeating: 0, count: rank), step = [Int](repeating: 1, count: rank), outShape = shape
        // Axes already sliced, as bits: a Set here was a hash table per request (rank ≤ 64).
        var seen: UInt64 = 0
        for i in 0..<starts.count {
            guard axes[i] >= -Int64(rank), axes[i] < Int64(rank) else { throw node.invalid("axis \(axes[i]) is out of range") }
            let a = Int(axes[i] < 0 ? axes[i] + Int64(rank) : axes[i])
            guard seen & (1 << UInt64(a)) == 0 else { throw node.invalid("axis \(a) repeats") }
            seen |= 1 << UInt64(a)
            guard steps[i] != 0 else { throw node.invalid("steps must not be 0") }
            let (f, c) = Self.range(start: starts[i], end: ends[i], step: steps[i], size: shape[a])
            // A step larger than the axis selects at most one element: clamp it so strides cannot overflow.
            first[a] = f; step[a] = Int(Swift.max(Swift.min(steps[i], Int64(shape[a]) + 1), -Int64(shape[a]) - 1)); outShape[a] = c
        }
        let inStrides = ShapeMath.strides(shape)
        var base = 0
        for d in 0..<rank { base += first[d] * inStrides[d] }
        return (outShape, base, (0..<rank).map { step[$0] * inStrides[$0] }, outShape == shape && step.allSatisfy { $0 == 1 })
    }
}

struct SplitKernel: NodeKernel {
    let axis: Int
    let split: [Int]?
    /// The sizes come from the second input per request.
    let runtimeSplit: Bool
    let uneven: Bool
    let count: Int

    static func equalSizes(_ d: Int, parts n: Int, uneven: Bool) -> [Int]? {
        if uneven {
            let chunk = (d + n - 1) / n
            return (0..<n).map { Swift.max(0, Swift.min(chunk, d - $0 * chunk)) }
        }
        guard d % n == 0 else { return nil }
        return [Int](repeating: d / n, count: n)
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let given = runtimeSplit ? try node.ints(try node.required(inputs, 1)) : nil
        let views = try self.views(x.shape, given: given, node)
        return views.map { Tensor(shape: $0.shape, storage: x.storage.strided($0.shape, base: $0.base, strides: $0.strides, arena: node.context.arena)) }
    }

    /// Each output as a strided view of the input; `given` is the runtime split input.
    func views(_ shape: [Int], given: [Int64]?, _ node: NodeExecutor) throws(InferenceError) -> [(shape: [Int], base: Int, strides: [Int])] {
        let d = shape[axis]
        var split = self.split
        if let v = given {
            guard v.count == count, v.allSatisfy({ $0 >= 0 && $0 <= Int64(d) }) else { throw node.invalid("split \(v) does not fit \(count) outputs of dimension \(d)") }
            split = v.map { Int($0) }
        }
        guard let sizes = split ?? Self.equalSizes(d, parts: count, uneven: uneven), sizes.reduce(0, +) == d else {
            throw node.invalid("dimension \(d) cannot be split into \(split.map { "\($0)" } ?? "\(count) equal parts")")
        }
        let strides = ShapeMath.strides(shape)
        var views: [(shape: [Int], base: Int, strides: [Int])] = []
        var offset = 0
        for s in sizes {
            var part = shape
            part[axis] = s
            views.append((part, offset * strides[axis], strides))
            offset += s
        }
        return views
    }
}

struct ReshapeKernel: NodeKernel {
    enum Mode: Sendable {
        case squeeze([Int]), unsqueeze([Int]), flatten(Int)
        case reshape([Int64], allowZero: Bool)
        case dynamic(allowZero: Bool)
        /// Squeeze/Unsqueeze with the axes given per request.
        case squeezeInput, unsqueezeInput
    }
    let mode: Mode

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var x = try node.required(inputs, 0)
        x.shape = try outputShape(x.shape, inputs.count > 1 ? inputs[1] : nil, node)
        return [x]
    }

    /// The shape a tensor of shape `shape` takes, `operand` being the node's second input (the
    /// target shape, or the axes, for the modes that read one).
    func outputShape(_ shape: [Int], _ operand: Tensor?, _ node: NodeExecutor) throws(InferenceError) -> [Int] {
        switch mode {
        case .squeeze(let axes):
            for a in axes where shape[a] != 1 { throw node.invalid("cannot squeeze axis \(a) of \(shape.shapeDescription)") }
            return shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        case .unsqueeze(let axes):
            var out = shape
            for a in axes { out.insert(1, at: a) }
            return out
        case .flatten(let a):
            return [ShapeMath.product(shape, 0..<a), ShapeMath.product(shape, a..<shape.count)]
        case .squeezeInput, .unsqueezeInput:
            let given = try node.ints(try node.required([nil, operand], 1))
            let squeeze: Bool = if case .squeezeInput = mode { true } else { false }
            let rank = squeeze ? shape.count : shape.count + given.count
            var axes = Set<Int>()
            for a in given {
                guard a >= -Int64(rank), a < Int64(rank) else { throw node.invalid("axis \(a) is out of range for rank \(rank)") }
                guard axes.insert(Int(a < 0 ? a + Int64(rank) : a)).inserted else { throw node.invalid("axes \(given) repeat an axis") }
            }
            if squeeze {
                for a in axes where shape[a] != 1 { throw node.invalid("cannot squeeze axis \(a) of \(shape.shapeDescription)") }
                return shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
            } else {
                var out = shape
                for a in axes.sorted() { out.insert(1, at: a) }
                return out
            }
        case .reshape(let target, let allowZero):
            return try node.reshapeTarget(input: shape, target: target, allowZero: allowZero)
        case .dynamic(let allowZero):
            let target = try node.ints(try node.required([nil, operand], 1))
            guard target.count <= ONNXLimits.maxRank else { throw node.invalid("target rank \(target.count) exceeds \(ONNXLimits.maxRank)") }
            for (i, v) in target.enumerated() {
                guard v >= -1 else { throw node.invalid("invalid dimension \(v) in shape \(target)") }
                if v == 0 && !allowZero && i >= shape.count { throw node.invalid("shape \(target) copies dimension \(i) of a rank-\(shape.count) input") }
            }
            guard target.filter({ $0 == -1 }).count <= 1 else { throw node.invalid("shape \(target) has more than one -1") }
            return try node.reshapeTarget(input: shape, target: target, allowZero: allowZero)
        }
    }
}

struct TransposeKernel: NodeKernel {
    let perm: [Int]
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        if perm == Array(0..<perm.count) { return [x] }
        let (outShape, strides) = view(x.shape)
        return [Tensor(shape: outShape, storage: x.storage.strided(outShape, strides: strides, arena: node.context.arena, pool: node.context.pool))]
    }

    /// The transpose of a tensor of shape `shape` as a strided view of it.
    func view(_ shape: [Int]) -> (shape: [Int], strides: [Int]) {
        let inStrides = ShapeMath.strides(shape)
        return (perm.map { shape[$0] }, perm.map { inStrides[$0] })
    }
}

struct ExpandKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let outShape = try Self.shape(x.shape, target: try node.ints(try node.required(inputs, 1)), node)
        if outShape == x.shape { return [x] }
        return [Tensor(shape: outShape, storage: x.storage.strided(outShape, strides: Generic.broadcastStrides(x.shape, in: outShape),
                                                                   arena: node.context.arena, pool: node.context.pool))]
    }

    /// The output shape for the target `target`.
    static func shape(_ shape: [Int], target: [Int64], _ node: NodeExecutor) throws(InferenceError) -> [Int] {
        guard target.count <= ONNXLimits.maxRank, target.allSatisfy({ $0 >= 0 && $0 <= Int64(ONNXLimits.maxTensorElements) }) else {
            throw node.invalid("invalid shape \(target)")
        }
        let outShape = try node.broadcast([shape, target.map { Int($0) }])
        _ = try node.checkedCount(outShape)
        return outShape
    }
}

struct ConstantOfShapeKernel: NodeKernel {
    let value: Tensor
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let target = try node.ints(try node.required(inputs, 0))
        guard target.count <= ONNXLimits.maxRank, target.allSatisfy({ $0 >= 0 && $0 <= Int64(ONNXLimits.maxTensorElements) }) else {
            throw node.invalid("invalid shape \(target)")
        }
        let shape = target.map { Int($0) }
        let count = try node.checkedCount(shape)
        return [Tensor(shape: shape, storage: value.storage.repeatedFirst(count))]
    }
}

struct RangeKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let s = try node.required(inputs, 0), l = try node.required(inputs, 1), d = try node.required(inputs, 2)
        guard s.elementCount == 1, l.elementCount == 1, d.elementCount == 1 else { throw node.invalid("start, limit and delta must be scalars") }
        if s.elementType == .float32 {
            let start = s.scalars[0], limit = l.scalars[0], delta = d.scalars[0]
            guard delta != 0, delta.isFinite else { throw node.invalid("delta must be non-zero") }
            let n = Swift.max(Double((limit - start) / delta).rounded(.up), 0)
            guard n <= Double(ONNXLimits.maxComputedElements) else { throw node.invalid("range of \(n) elements is too large") }
            return [Tensor(shape: [Int(n)], storage: .float32((0..<Int(n)).map { start + Float($0) * delta }))]
        }
        let start = s.storage.int64Values[0], limit = l.storage.int64Values[0], delta = d.storage.int64Values[0]
        guard delta != 0 else { throw node.invalid("delta must be non-zero") }
        let span = Double(limit) - Double(start)
        let n = Swift.max((span / Double(delta)).rounded(.up), 0)
        guard n <= Double(ONNXLimits.maxComputedElements) else { throw node.invalid("range of \(n) elements is too large") }
        let values = (0..<Int64(n)).map { start &+ $0 &* delta }
        return [Tensor(shape: [values.count], storage: TensorStorage.int64(values).cast(to: s.elementType))]
    }
}

struct TriluKernel: NodeKernel {
    let upper: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let k = try Self.diagonal(inputs.count > 1 ? inputs[1] : nil, node)
        let layout = Layout(x.shape, k: k, upper: upper, width: x.elementType.byteWidth ?? 4)
        let storage = TensorStorage.writing(x.elementType, count: x.elementCount, arena: node.context.arena) { target in
            x.storage.withUnsafeBytes { source in layout.apply(source.baseAddress!, target) }
        }
        return [Tensor(shape: x.shape, storage: storage)]
    }

    /// The diagonal offset `k` from the optional second input.
    static func diagonal(_ kt: Tensor?, _ node: NodeExecutor) throws(InferenceError) -> Int64 {
        guard let kt else { return 0 }
        guard kt.elementCount == 1 else { throw node.invalid("k must be a scalar") }
        return try node.ints(kt)[0]
    }

    /// The triangle of each matrix in the last two dimensions, on raw bytes.
    struct Layout: Sendable {
        let matrices: Int, rows: Int, cols: Int
        let k: Int64
        let upper: Bool
        let width: Int

        init(_ shape: [Int], k: Int64, upper: Bool, width: Int) {
            let r = shape.count
            rows = shape[r - 2]
            cols = shape[r - 1]
            matrices = ShapeMath.product(shape, 0..<(r - 2))
            // Beyond ±(rows + cols) every offset keeps or drops whole rows alike; clamping keeps i + k from overflowing.
            let limit = Int64(rows + cols + 1)
            self.k = Swift.min(Swift.max(k, -limit), limit)
            self.upper = upper
            self.width = width
        }

        /// Copies the kept triangle of `source` to `target` and zeroes the rest (zero is all
        /// zero bytes in every element type).
        func apply(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer) {
            let rowBytes = cols * width
            for m in 0..<matrices {
                for i in 0..<rows {
                    let offset = (m * rows + i) * rowBytes
                    // Columns j kept: j - i ≥ k (upper) or j - i ≤ k (lower), clamped to the row.
                    let edge = Int(Swift.min(Swift.max(Int64(i) + k + (upper ? 0 : 1), 0), Int64(cols))) * width
                    let (keepFrom, keepTo) = upper ? (edge, rowBytes) : (0, edge)
                    (target + offset).initializeMemory(as: UInt8.self, repeating: 0, count: keepFrom)
                    (target + offset + keepFrom).copyMemory(from: source + offset + keepFrom, byteCount: keepTo - keepFrom)
                    (target + offset + keepTo).initializeMemory(as: UInt8.self, repeating: 0, count: rowBytes - keepTo)
                }
            }
        }
    }
}

struct TileKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let view = try Self.view(x.shape, repeats: try node.ints(try node.required(inputs, 1)), node)
        return [Tensor(shape: view.outShape, storage: x.storage.strided(view.shape, strides: view.strides, arena: node.context.arena,
                                                                       pool: node.context.pool))]
    }

    /// The tiling as a strided view: output dimension d, of size repeats·n, is read as the
    /// pair (repeat, position) with strides (0, input stride), so the copy needs no index per element.
    static func view(_ shape: [Int], repeats: [Int64], _ node: NodeExecutor) throws(InferenceError) -> (outShape: [Int], shape: [Int], strides: [Int]) {
        guard repeats.count == shape.count, repeats.allSatisfy({ $0 >= 0 && $0 <= Int64(ONNXLimits.maxTensorElements) }) else {
            throw node.invalid("repeats \(repeats) do not fit rank \(shape.count)")
        }
        var outShape: [Int] = [], viewShape: [Int] = [], strides: [Int] = []
        let inStrides = ShapeMath.strides(shape)
        for (d, r) in zip(shape.indices, repeats) {
            let (p, o) = shape[d].multipliedReportingOverflow(by: Int(r))
            guard !o else { throw node.invalid("output too large") }
            outShape.append(p)
            viewShape += [Int(r), shape[d]]
            strides += [0, inStrides[d]]
        }
        _ = try node.checkedCount(outShape)
        return (outShape, viewShape, strides)
    }
}
