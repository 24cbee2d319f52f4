/// Numerically stable softmax over the middle axis of an `[outer, axis, inner]` view.
///
/// Exponentials use ``FastMath/exp(_:)-swift.type.method`` (relative error ≤ 1.5e-7 per term,
/// so each probability is within ~3e-7 relative of the exact one).
enum SoftmaxKernel {
    typealias Vector = SIMD16<Float>

    /// Softmax over the middle extent of `extents` (the shape of ``BoundAxisKernel/Apply``).
    @Sendable
    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ extents: AxisExtents) {
        softmax(x, y, outer: extents.outer, axis: extents.length, inner: extents.inner)
    }

    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, axis: Int, inner: Int) {
        guard axis > 0, inner > 0 else { return }
        // Whatever the row count: a row's result must not depend on how many rows came with it
        // (a batched request gets exactly its unbatched answer).
        if inner == 1 && axis <= 8 {
            shortRows(x, y, rows: outer, count: axis)
            return
        }
        for o in 0..<outer {
            let base = o * axis * inner
            if inner == 1 {
                row(x + base, y + base, count: axis)
            } else {
                // Strided axis: 16 neighbouring softmaxes at once, one per lane of the contiguous inner axis.
                var s = 0
                while s < inner {
                    columns(x + base + s, y + base + s, axis: axis, stride: inner, lanes: Swift.min(16, inner - s))
                    s += 16
                }
            }
        }
    }

    /// Softmax of `rows` consecutive rows of `count` (≤ 8) values, such as a classifier's
    /// probabilities over a batch. One register per row would spend a 16-lane exponential and
    /// two horizontal reductions on a handful of values; instead every row is shifted by its
    /// maximum in place and the whole block is exponentiated 16 values at a time.
    @inline(__always)
    static func shortRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, count: Int) {
        for r in 0..<rows {
            let source = x + r * count, target = y + r * count
            var m = source[0]
            for j in 1..<count { m = Swift.max(m, source[j]) }
            for j in 0..<count { target[j] = source[j] - m }
        }
        FastMath.map(y, y, count: rows * count, FastMath.exp)
        for r in 0..<rows {
            let target = y + r * count
            var sum: Float = 0
            for j in 0..<count { sum += target[j] }
            let scale = 1 / sum
            for j in 0..<count { target[j] *= scale }
        }
    }

    /// Softmax of `count` contiguous values.
    @inline(__always)
    static func row(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        if count <= 16 {
            // One register holds the row (attention rows are often this short): lanes past the
            // end are -inf, whose exponential (0) leaves the sum alone.
            var v = Vector(repeating: -.infinity)
            for j in 0..<count { v[j] = x[j] }
            let e = FastMath.exp(v - FastMath.maximum(v))
            FastMath.store(e * (1 / FastMath.sum(e)), y, count: count)
            return
        }
        let shift = Vector(repeating: FastMath.maximum(x, count: count))
        var sums = Vector(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let e = FastMath.exp(FastMath.load(x + i) - shift)
            FastMath.store(e, y + i)
            sums += e
            i += 16
        }
        if i < count {
            // Lanes past the end load -inf, whose exponential (0) leaves the sum alone.
            let rest = count - i
            var v = Vector(repeating: -.infinity)
            for j in 0..<rest { v[j] = x[i + j] }
            let e = FastMath.exp(v - shift)
            FastMath.store(e, y + i, count: rest)
            sums += e
        }
        let scale = Vector(repeating: 1 / FastMath.sum(sums))
        FastMath.map(y, y, count: count) { $0 * scale }
    }

    /// Softmax along a strided axis for `lanes` (≤ 16) adjacent columns starting at `x`.
    @inline(__always)
    static func columns(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, axis: Int, stride: Int, lanes: Int) {
        @inline(__always) func load(_ i: Int) -> Vector {
            lanes == 16 ? FastMath.load(x + i * stride) : FastMath.load(x + i * stride, count: lanes)
        }
        @inline(__always) func store(_ v: Vector, _ i: Int) {
            if lanes == 16 { FastMath.store(v, y + i * stride) } else { FastMath.store(v, y + i * stride, count: lanes) }
        }
        var maxima = Vector(repeating: -.infinity)
        for i in 0..<axis {
            let v = load(i)
            maxima.replace(with: v, where: v .> maxima)
        }
        var sums = Vector(repeating: 0)
        for i in 0..<axis {
            let e = FastMath.exp(load(i) - maxima)
            store(e, i)
            sums += e
        }
        let scale = 1 / sums
        for i in 0..<axis {
            let v = lanes == 16 ? FastMath.load(y + i * stride) : FastMath.load(y + i * stride, count: lanes)
            store(v * scale, i)
        }
    }
}
