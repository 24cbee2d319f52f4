/// Type-generic helpers for the elementwise and data-movement operators on every element type.
enum Generic {
    /// Strides of `shape` (right-aligned) inside the broadcast `outShape`: 0 where the input
    /// broadcasts (its dimension is 1 or absent).
    static func broadcastStrides(_ shape: [Int], in outShape: [Int]) -> [Int] {
        let rank = outShape.count
        var strides = [Int](repeating: 0, count: rank)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let d = i + rank - shape.count
            strides[d] = shape[i] == 1 ? 0 : s
            s *= shape[i]
        }
        return strides
    }

    /// Source offsets `base + Σ index[d]·strides[d]` for every element of `outShape`, row-major.
    static func viewIndices(_ outShape: [Int], base: Int = 0, strides: [Int]) -> [Int] {
        let count = ShapeMath.product(outShape, 0..<outShape.count)
        guard count > 0 else { return [] }
        let rank = outShape.count
        if rank == 0 { return [base] }
        var result = [Int]()
        result.reserveCapacity(count)
        var index = [Int](repeating: 0, count: rank)
        var offset = base
        let inner = outShape[rank - 1], innerStride = strides[rank - 1]
        for _ in 0..<(count / inner) {
            for j in 0..<inner { result.append(offset + j * innerStride) }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < outShape[d] { break }
                offset -= strides[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
        }
        return result
    }

    /// Binary map with numpy broadcasting.
    static func map2<A, B, R>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ outShape: [Int],
                              _ f: (A, B) -> R) -> [R] {
        let ia = viewIndices(outShape, strides: broadcastStrides(aShape, in: outShape))
        let ib = viewIndices(outShape, strides: broadcastStrides(bShape, in: outShape))
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                [R](uninitializedCount: ia.count) { out, n in
                    for i in 0..<ia.count { (out.baseAddress! + i).initialize(to: f(pa[ia[i]], pb[ib[i]])) }
                    n = ia.count
                }
            }
        }
    }

    /// Ternary map with numpy broadcasting (Where).
    static func map3<A, B, C, R>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ c: [C], _ cShape: [Int],
                                 _ outShape: [Int], _ f: (A, B, C) -> R) -> [R] {
        let ia = viewIndices(outShape, strides: broadcastStrides(aShape, in: outShape))
        let ib = viewIndices(outShape, strides: broadcastStrides(bShape, in: outShape))
        let ic = viewIndices(outShape, strides: broadcastStrides(cShape, in: outShape))
        return [R](uninitializedCount: ia.count) { out, n in
            for i in 0..<ia.count { (out.baseAddress! + i).initialize(to: f(a[ia[i]], b[ib[i]], c[ic[i]])) }
            n = ia.count
        }
    }
}
