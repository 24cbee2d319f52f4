/// How a binary elementwise operator walks two operands broadcast to one output shape, worked
/// out once per shape pair. Adjacent dimensions with the same broadcast pattern are merged, so
/// the common cases (same shape, bias over the last axis, scalar) become one or two long
/// unit-stride loops.
struct BroadcastPattern: Sendable {
    /// Merged output dimensions, outermost first (at least one).
    let sizes: [Int]
    /// Element strides of each operand over the merged dimensions (0 where it broadcasts).
    let aStrides: [Int]
    let bStrides: [Int]
    /// Output elements.
    let count: Int

    init(_ aShape: [Int], _ bShape: [Int], outShape: [Int]) {
        count = ShapeMath.product(outShape, 0..<outShape.count)
        let rank = outShape.count
        // Merge dims: (size, aBroadcast, bBroadcast), skipping size-1 output dims.
        var sizes: [Int] = [], aB: [Bool] = [], bB: [Bool] = []
        for i in 0..<rank where outShape[i] != 1 {
            let da = i < rank - aShape.count ? 1 : aShape[i - (rank - aShape.count)]
            let db = i < rank - bShape.count ? 1 : bShape[i - (rank - bShape.count)]
            let fa = da == 1, fb = db == 1
            if let last = sizes.indices.last, aB[last] == fa, bB[last] == fb {
                sizes[last] *= outShape[i]
            } else {
                sizes.append(outShape[i]); aB.append(fa); bB.append(fb)
            }
        }
        if sizes.isEmpty { sizes = [1]; aB = [true]; bB = [true] }
        let r = sizes.count
        var aStrides = [Int](repeating: 0, count: r), bStrides = [Int](repeating: 0, count: r)
        var sa = 1, sb = 1
        for d in stride(from: r - 1, through: 0, by: -1) {
            if !aB[d] { aStrides[d] = sa; sa *= sizes[d] }
            if !bB[d] { bStrides[d] = sb; sb *= sizes[d] }
        }
        self.sizes = sizes
        self.aStrides = aStrides
        self.bStrides = bStrides
    }

    /// `y = a ∘ b` over the whole output (`count` elements).
    func apply(_ op: BinaryOperator, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let r = sizes.count
        let inner = sizes[r - 1]
        let innerA = aStrides[r - 1], innerB = bStrides[r - 1]
        guard count > 0, inner > 0 else { return }
        let outer = count / inner
        if outer == 1 {
            ElementwiseKernel.binary(op, a, innerA, b, innerB, y, count: inner)
            return
        }
        // The multi-index over the outer (merged) dimensions lives on the stack.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: r) { index in
            index.initialize(repeating: 0)
            var offA = 0, offB = 0
            for row in 0..<outer {
                ElementwiseKernel.binary(op, a + offA, innerA, b + offB, innerB, y + row * inner, count: inner)
                var d = r - 2
                while d >= 0 {
                    index[d] += 1
                    offA += aStrides[d]; offB += bStrides[d]
                    if index[d] < sizes[d] { break }
                    offA -= aStrides[d] * sizes[d]; offB -= bStrides[d] * sizes[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
}
