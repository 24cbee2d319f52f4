/// Sixteen-lane activations for the GEMM epilogue, so that an activation costs a few vector
/// instructions per 16 outputs instead of a libm call per element.
///
/// Error bound against ``EpilogueActivation/apply(_:)``: at most 2e-6 absolute plus 2e-6
/// relative for sigmoid, tanh and both GELUs (the exponential is accurate to ~2 ulp; `tanh`
/// loses relative accuracy near 0, where its absolute error stays below 2e-7, and erf uses
/// Abramowitz & Stegun 7.1.26, absolute error 1.5e-7). ReLU, leaky ReLU and clip are exact.
extension EpilogueActivation {
    typealias Vector = SIMD16<Float>

    @inline(__always)
    func apply(_ x: Vector) -> Vector {
        switch self {
        case .none: return x
        case .relu: return x.replacing(with: 0, where: x .< 0)
        case .leakyRelu(let alpha): return x.replacing(with: x * alpha, where: x .< 0)
        case .clip(let lo, let hi): return VectorMath.clamp(x, lo, hi)
        default: return applyTranscendental(x)
        }
    }

    /// Out of line: these expand to dozens of instructions, and inlining them into every
    /// micro-kernel specialisation would bloat the hot loops' code for a once-per-tile step.
    @inline(never)
    func applyTranscendental(_ x: Vector) -> Vector {
        switch self {
        case .sigmoid: return VectorMath.sigmoid(x)
        case .tanh: return VectorMath.tanh(x)
        case .gelu(let approximate):
            if approximate {
                let inner = 0.7978845608 * (x + 0.044715 * x * x * x)
                return 0.5 * x * (1 + VectorMath.tanh(inner))
            }
            return 0.5 * x * (1 + VectorMath.erf(x * 0.70710678118654752))
        case .none, .relu, .leakyRelu, .clip: return apply(x)
        }
    }
}

/// Vector approximations of the transcendental functions the epilogue needs.
enum VectorMath {
    typealias Vector = SIMD16<Float>

    /// `e^x` (Cephes `expf`): `x = n·ln2 + r`, a degree-6 polynomial for `e^r`, and `2^n` built
    /// in the exponent bits. Inputs are clamped to where `2^n` stays a normal float, so the
    /// result saturates (to ~2^127 or ~2^-126) instead of overflowing.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        let clamped = clamp(x, -87.3, 88.0)
        let n = (clamped * 1.44269504088896341).rounded(.toNearestOrEven)
        let r = clamped - n * 0.693359375 + n * 2.12194440e-4
        var p = Vector(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let e = p * (r * r) + r + 1
        // NaN lanes would trap in the conversion; they become 2^0 and stay NaN through `e`.
        let exponent = n.replacing(with: 0, where: .!(n .== n))
        let bits = (SIMD16<Int32>(exponent, rounding: .towardZero) &+ 127) &<< 23
        return e * unsafeBitCast(bits, to: Vector.self)
    }

    /// `min(max(x, lo), hi)` as two compare-and-selects (the generic `clamped` is not inlined).
    /// NaN lanes stay NaN.
    @inline(__always)
    static func clamp(_ x: Vector, _ lo: Float, _ hi: Float) -> Vector {
        let low = x.replacing(with: lo, where: x .< lo)
        return low.replacing(with: hi, where: low .> hi)
    }

    @inline(__always)
    static func sigmoid(_ x: Vector) -> Vector {
        1 / (1 + exp(-x))
    }

    /// `1 − 2/(e^{2x} + 1)`: saturates to ±1 without overflow thanks to the clamp in ``exp(_:)``.
    @inline(__always)
    static func tanh(_ x: Vector) -> Vector {
        1 - 2 / (exp(2 * x) + 1)
    }

    /// Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), odd extension to negative x.
    @inline(__always)
    static func erf(_ x: Vector) -> Vector {
        let ax = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (1 + 0.3275911 * ax)
        var p = Vector(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * exp(-ax * ax)
        return y.replacing(with: -y, where: x .< 0)
    }
}
