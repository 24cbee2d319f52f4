#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Layer normalization of one row, 16 lanes at a time: `y = (x − mean)/√(var + ε)·γ (+ β)`.
///
/// Two passes (mean, then the centred sum of squares, as the reference does, not the
/// one-pass `E[x²] − mean²` that loses precision) and a third that writes.
enum LayerNormRow {
    typealias Vector = SIMD16<Float>

    /// Normalises `width` floats from `x` into `y` (which may equal `x`); returns the mean and
    /// the inverse standard deviation.
    @inline(__always)
    @discardableResult
    static func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, width: Int, epsilon: Float,
                          gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>?) -> (mean: Float, invStd: Float) {
        let vectorEnd = width & ~15
        var sumV = Vector(repeating: 0)
        var i = 0
        while i < vectorEnd { sumV += FastMath.load(x + i); i += 16 }
        var total = FastMath.sum(sumV)
        while i < width { total += x[i]; i += 1 }
        let mean = total / Float(width)
        let meanV = Vector(repeating: mean)
        var squaresV = Vector(repeating: 0)
        i = 0
        while i < vectorEnd { let d = FastMath.load(x + i) - meanV; squaresV = squaresV.addingProduct(d, d); i += 16 }
        var squares = FastMath.sum(squaresV)
        while i < width { let d = x[i] - mean; squares += d * d; i += 1 }
        let invStd = 1 / sqrtf(squares / Float(width) + epsilon)
        let invV = Vector(repeating: invStd)
        i = 0
        if let beta {
            while i < vectorEnd {
                let n = (FastMath.load(x + i) - meanV) * invV
                FastMath.store(n * FastMath.load(gamma + i) + FastMath.load(beta + i), y + i)
                i += 16
            }
            while i < width { y[i] = (x[i] - mean) * invStd * gamma[i] + beta[i]; i += 1 }
        } else {
            while i < vectorEnd {
                FastMath.store((FastMath.load(x + i) - meanV) * invV * FastMath.load(gamma + i), y + i)
                i += 16
            }
            while i < width { y[i] = (x[i] - mean) * invStd * gamma[i]; i += 1 }
        }
        return (mean, invStd)
    }
}
