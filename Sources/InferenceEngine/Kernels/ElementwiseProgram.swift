#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A straight-line program of elementwise float operations: what a fused chain of
/// unary/binary nodes computes per element. Step `i` produces value `i`; the last step is the
/// result. Evaluated over chunks of a row so that every step is a tight loop over at most
/// ``chunk`` floats held in L1, and the result is written to memory once.
struct ElementwiseProgram: Sendable, Equatable {
    enum Unary: Sendable, Equatable {
        case relu, sigmoid, tanh, sqrt, erf, exp, log, neg, abs, reciprocal
        case leakyRelu(Float), gelu(approximateTanh: Bool), clip(Float, Float), square
    }
    enum Binary: Sendable, Equatable { case add, sub, mul, div, max, min, pow }
    enum Step: Sendable, Equatable {
        /// External input `i` of the fused node.
        case input(Int)
        case scalar(Float)
        case unary(Unary, Int)
        case binary(Binary, Int, Int)
    }

    var steps: [Step]

    static let chunk = 256

    /// Evaluates `count` (≤ ``chunk``) elements. `inputs[i]` points at input `i`'s elements
    /// for this chunk, with `inputStrides[i]` 1 (contiguous) or 0 (one broadcast value).
    /// `scratch` holds `steps.count × chunk` floats.
    func evaluate(count: Int, inputs: UnsafePointer<UnsafePointer<Float>>, inputStrides: UnsafePointer<Int>,
                  scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let chunk = Self.chunk
        let last = steps.count - 1
        for (i, step) in steps.enumerated() {
            let dst = i == last ? output : scratch + i * chunk
            switch step {
            case .input(let k):
                let src = inputs[k]
                if inputStrides[k] == 1 { dst.update(from: src, count: count) } else { dst.update(repeating: src.pointee, count: count) }
            case .scalar(let v):
                dst.update(repeating: v, count: count)
            case .unary(let op, let a):
                Self.unary(op, UnsafePointer(scratch + a * chunk), dst, count)
            case .binary(let op, let a, let b):
                Self.binary(op, UnsafePointer(scratch + a * chunk), UnsafePointer(scratch + b * chunk), dst, count)
            }
        }
    }

    @inline(__always)
    static func unary(_ op: Unary, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .relu: for i in 0..<n { y[i] = Swift.max(x[i], 0) }
        // The transcendental activations run 16 lanes at a time, as their unfused kernels do:
        // with libm per element a fused Add+Tanh was 10x slower than Add and Tanh apart.
        case .sigmoid: FastMath.map(x, y, count: n, FastMath.sigmoid)
        case .tanh: FastMath.map(x, y, count: n, FastMath.tanh)
        case .sqrt: for i in 0..<n { y[i] = sqrtf(x[i]) }
        case .erf: FastMath.map(x, y, count: n, FastMath.erf)
        case .exp: for i in 0..<n { y[i] = expf(x[i]) }
        case .log: for i in 0..<n { y[i] = logf(x[i]) }
        case .neg: for i in 0..<n { y[i] = -x[i] }
        case .abs: for i in 0..<n { y[i] = Swift.abs(x[i]) }
        case .reciprocal: for i in 0..<n { y[i] = 1 / x[i] }
        case .square: for i in 0..<n { y[i] = x[i] * x[i] }
        case .leakyRelu(let a): for i in 0..<n { y[i] = x[i] >= 0 ? x[i] : a * x[i] }
        case .clip(let lo, let hi): for i in 0..<n { y[i] = Swift.min(Swift.max(x[i], lo), hi) }
        case .gelu(let approximate):
            FastMath.map(x, y, count: n, EpilogueActivation.gelu(approximateTanh: approximate).apply)
        }
    }

    @inline(__always)
    static func binary(_ op: Binary, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch op {
        case .add: for i in 0..<n { y[i] = a[i] + b[i] }
        case .sub: for i in 0..<n { y[i] = a[i] - b[i] }
        case .mul: for i in 0..<n { y[i] = a[i] * b[i] }
        case .div: for i in 0..<n { y[i] = a[i] / b[i] }
        // NaN-propagating like the unfused Max/Min kernels.
        case .max: for i in 0..<n { y[i] = a[i].isNaN || b[i].isNaN ? .nan : Swift.max(a[i], b[i]) }
        case .min: for i in 0..<n { y[i] = a[i].isNaN || b[i].isNaN ? .nan : Swift.min(a[i], b[i]) }
        case .pow: for i in 0..<n { y[i] = b[i] == 2 ? a[i] * a[i] : (b[i] == 0.5 ? sqrtf(a[i]) : powf(a[i], b[i])) }
        }
    }
}
