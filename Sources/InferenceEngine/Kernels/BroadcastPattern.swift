/// How elementwise operators walk operands broadcast to one output shape, worked out once per
/// shape tuple. Adjacent dimensions with the same broadcast pattern in every operand are
/// merged, so the common cases (same shape, bias over the last axis, scalar) become one or two
/// long unit-stride loops.
///
/// Any number of operands (binary operators, Where, fused elementwise programs) and any element
/// type: the pattern is in elements, the loops are generic over the element types.
struct BroadcastPattern: Sendable {
    /// Merged output dimensions, outermost first (at least one).
    let sizes: [Int]
    /// Element strides of every operand over the merged dimensions, dimension-major
    /// (`strides[d * operands + i]`), 0 where operand `i` broadcasts.
    let strides: [Int]
    /// Per operand, its stride along the innermost merged dimension: 1, or 0 where it broadcasts.
    let innerStrides: [Int]
    let operands: Int
    /// Output elements.
    let count: Int

    init(_ aShape: [Int], _ bShape: [Int], outShape: [Int]) {
        self.init([aShape, bShape], outShape: outShape)
    }

    init(_ shapes: [[Int]], outShape: [Int]) {
        count = ShapeMath.product(outShape, 0..<outShape.count)
        operands = shapes.count
        let rank = outShape.count
        // Merged dims: sizes and, per operand, whether it broadcasts there; size-1 output dims are skipped.
        var sizes: [Int] = [], broadcasts: [[Bool]] = []
        for i in 0..<rank where outShape[i] != 1 {
            let flags = shapes.map { shape in i < rank - shape.count || shape[i - (rank - shape.count)] == 1 }
            if let last = broadcasts.last, last == flags {
                sizes[sizes.count - 1] *= outShape[i]
            } else {
                sizes.append(outShape[i])
                broadcasts.append(flags)
            }
        }
        if sizes.isEmpty {
            sizes = [1]
            broadcasts = [[Bool](repeating: true, count: shapes.count)]
        }
        let r = sizes.count
        var strides = [Int](repeating: 0, count: r * shapes.count)
        for i in 0..<shapes.count {
            var s = 1
            for d in stride(from: r - 1, through: 0, by: -1) where !broadcasts[d][i] {
                strides[d * shapes.count + i] = s
                s *= sizes[d]
            }
        }
        self.sizes = sizes
        self.strides = strides
        innerStrides = Array(strides[((r - 1) * shapes.count)...])
    }

    var aStrides: [Int] { (0..<sizes.count).map { strides[$0 * operands] } }
    var bStrides: [Int] { (0..<sizes.count).map { strides[$0 * operands + 1] } }

    /// Calls `body(offsets, start, n)` for every contiguous row of the output: output elements
    /// `start..<start+n`, where operand `i` starts at element `offsets[i]` and advances by
    /// `innerStrides[i]`. Nothing is allocated: the multi-index lives on the stack.
    @inline(__always)
    func forEachRow(_ body: (_ offsets: UnsafePointer<Int>, _ start: Int, _ n: Int) -> Void) {
        let r = sizes.count
        let inner = sizes[r - 1]
        guard count > 0, inner > 0 else { return }
        let outer = count / inner
        let n = operands
        withUnsafeTemporaryAllocation(of: Int.self, capacity: n + r) { buffer in
            let offsets = buffer.baseAddress!, index = offsets + n
            buffer.initialize(repeating: 0)
            for row in 0..<outer {
                body(UnsafePointer(offsets), row * inner, inner)
                var d = r - 2
                while d >= 0 {
                    index[d] += 1
                    for i in 0..<n { offsets[i] += strides[d * n + i] }
                    if index[d] < sizes[d] { break }
                    for i in 0..<n { offsets[i] -= strides[d * n + i] * sizes[d] }
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }

    /// `y = a ∘ b` over the whole output (`count` elements).
    func apply(_ op: BinaryOperator, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let innerA = innerStrides[0], innerB = innerStrides[1]
        forEachRow { o, start, n in
            ElementwiseKernel.binary(op, a + o[0], innerA, b + o[1], innerB, y + start, count: n)
        }
    }

    /// `y = f(a, b)` elementwise for a two-operand pattern, any element types.
    @inline(__always)
    func map<A, B, R>(_ a: UnsafePointer<A>, _ b: UnsafePointer<B>, _ y: UnsafeMutablePointer<R>, _ f: (A, B) -> R) {
        let sa = innerStrides[0], sb = innerStrides[1]
        forEachRow { o, start, n in
            let pa = a + o[0], pb = b + o[1], py = y + start
            // One loop per stride pattern, so the common ones are unit-stride (vectorizable).
            switch (sa, sb) {
            case (1, 1): for i in 0..<n { py[i] = f(pa[i], pb[i]) }
            case (1, 0): let s = pb.pointee; for i in 0..<n { py[i] = f(pa[i], s) }
            case (0, 1): let s = pa.pointee; for i in 0..<n { py[i] = f(s, pb[i]) }
            default: let v = f(pa.pointee, pb.pointee); for i in 0..<n { py[i] = v }
            }
        }
    }

    /// `y = f(a, b, c)` elementwise for a three-operand pattern (Where).
    @inline(__always)
    func map<A, B, C, R>(_ a: UnsafePointer<A>, _ b: UnsafePointer<B>, _ c: UnsafePointer<C>, _ y: UnsafeMutablePointer<R>,
                         _ f: (A, B, C) -> R) {
        let sa = innerStrides[0], sb = innerStrides[1], sc = innerStrides[2]
        forEachRow { o, start, n in
            let pa = a + o[0], pb = b + o[1], pc = c + o[2], py = y + start
            if sa == 1 && sb == 1 && sc == 1 {
                for i in 0..<n { py[i] = f(pa[i], pb[i], pc[i]) }
            } else {
                for i in 0..<n { py[i] = f(pa[i * sa], pb[i * sb], pc[i * sc]) }
            }
        }
    }
}
