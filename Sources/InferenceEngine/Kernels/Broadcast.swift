/// numpy-style broadcasting for binary elementwise operators.
enum Broadcast {
    /// The broadcast result shape, or `nil` if the shapes are incompatible.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Applies `op` over two broadcast operands. Adjacent dimensions with the same broadcast
    /// pattern are merged first, so the common cases (same shape, bias over the last axis, scalar)
    /// become one or two long unit-stride loops.
    static func binary(_ op: BinaryOperator, _ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int], outShape: [Int],
                       arena: TensorArena? = nil) -> [Float] {
        let count = ShapeMath.product(outShape, 0..<outShape.count)
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
        let inner = sizes[r - 1]
        let innerA = aStrides[r - 1], innerB = bStrides[r - 1]
        let outer = inner == 0 ? 0 : count / inner
        var index = [Int](repeating: 0, count: r)
        return TensorArena.floats(count, from: arena) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard count > 0, let baseA = pa.baseAddress, let baseB = pb.baseAddress, let y = out.baseAddress else { return }
                    var offA = 0, offB = 0
                    for row in 0..<outer {
                        ElementwiseKernel.binary(op, baseA + offA, innerA, baseB + offB, innerB, y + row * inner, count: inner)
                        // Advance the multi-index over the outer (merged) dimensions.
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
            initialized = count
        }
    }
}
