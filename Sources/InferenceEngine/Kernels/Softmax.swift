#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Numerically stable softmax over the middle axis of an `[outer, axis, inner]` view.
enum SoftmaxKernel {
    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, outer: Int, axis: Int, inner: Int) {
        guard axis > 0 else { return }
        for o in 0..<outer {
            let base = o * axis * inner
            if inner == 1 {
                let xs = x + base, ys = y + base
                var m = -Float.infinity
                for i in 0..<axis { m = max(m, xs[i]) }
                var sum: Float = 0
                for i in 0..<axis { let e = expf(xs[i] - m); ys[i] = e; sum += e }
                let scale = 1 / sum
                for i in 0..<axis { ys[i] *= scale }
            } else {
                // Strided axis: keep the inner dimension as the contiguous loop.
                for s in 0..<inner {
                    let xs = x + base + s, ys = y + base + s
                    var m = -Float.infinity
                    for i in 0..<axis { m = max(m, xs[i * inner]) }
                    var sum: Float = 0
                    for i in 0..<axis { let e = expf(xs[i * inner] - m); ys[i * inner] = e; sum += e }
                    let scale = 1 / sum
                    for i in 0..<axis { ys[i * inner] *= scale }
                }
            }
        }
    }
}
