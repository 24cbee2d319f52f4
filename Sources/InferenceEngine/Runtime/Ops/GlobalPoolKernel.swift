/// GlobalAveragePool and GlobalMaxPool: one reduction per (image, channel) plane, 16 lanes at a
/// time.
struct GlobalPoolKernel: NodeKernel {
    let isMax: Bool

    typealias Vector = SIMD16<Float>

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let planes = xs[0] * xs[1], size = ShapeMath.product(xs, 2..<xs.count)
        let y = node.outputFloats(planes) { out, initialized in
            defer { initialized = planes }
            guard let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in pool(px.baseAddress, planes: planes, size: size, into: py) }
        }
        return [Tensor(shape: Array(xs[..<2]) + [Int](repeating: 1, count: xs.count - 2), storage: .float32(y))]
    }

    /// One value per plane of `size` floats (`x` may be nil when `size` is 0).
    func pool(_ x: UnsafePointer<Float>?, planes: Int, size: Int, into out: UnsafeMutablePointer<Float>) {
        for p in 0..<planes {
            guard size > 0, let base = x else { out[p] = isMax ? -.infinity : 0; continue }
            out[p] = isMax ? Self.maximum(base + p * size, count: size) : Self.sum(base + p * size, count: size) / Float(size)
        }
    }

    /// The largest value, or NaN if there is one, as MaxPool propagates it (and the blocked
    /// kernel at level `all`); `FastMath.maximum` may drop NaN lanes.
    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var best = Vector(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            let v = FastMath.load(x + i)
            best.replace(with: v, where: (v .> best) .| (v .!= v))
            i += 16
        }
        var m = -Float.infinity
        for lane in 0..<16 where best[lane] > m || best[lane].isNaN {
            m = best[lane]
            if m.isNaN { return m }
        }
        while i < count {
            if x[i] > m || x[i].isNaN { m = x[i] }
            if m.isNaN { return m }
            i += 1
        }
        return m
    }

    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector(repeating: 0)
        var i = 0
        while i + 16 <= count { acc += FastMath.load(x + i); i += 16 }
        var s = FastMath.sum(acc)
        while i < count { s += x[i]; i += 1 }
        return s
    }
}
