/// Sixteen-lane activations for the GEMM and Conv epilogues, so that an activation costs a few
/// vector instructions per 16 outputs instead of a libm call per element.
///
/// Agrees with the scalar reference ``apply(_:)-(Float)`` within ``FastMath``'s bounds
/// (sigmoid/tanh absolute 2e-7; GELU absolute 2.5e-7·|x|), exactly for ReLU, leaky ReLU and
/// clip, and propagates NaN the same way.
extension EpilogueActivation {
    @inline(__always)
    func apply(_ x: SIMD16<Float>) -> SIMD16<Float> {
        switch self {
        case .none: x
        case .relu: x.replacing(with: 0, where: x .< 0)
        case .leakyRelu(let alpha): x.replacing(with: alpha * x, where: x .< 0)
        case .clip(let lo, let hi): x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        default: applyTranscendental(x)
        }
    }

    /// Out of line: these expand to dozens of instructions, and inlining them into every GEMM
    /// micro-kernel specialisation would bloat the hot loops for a once-per-tile step.
    @inline(never)
    func applyTranscendental(_ x: SIMD16<Float>) -> SIMD16<Float> {
        switch self {
        case .sigmoid: FastMath.sigmoid(x)
        case .tanh: FastMath.tanh(x)
        case .gelu(let approximate):
            approximate
                ? 0.5 * x * (1 + FastMath.tanh(0.7978845608 * x.addingProduct(0.044715 * x * x, x)))
                : 0.5 * x * (1 + FastMath.erf(x * 0.70710678118654752))
        case .none, .relu, .leakyRelu, .clip: apply(x)
        }
    }

    /// Applies the activation in place to `count` contiguous floats.
    @inline(__always)
    func apply(to values: UnsafeMutablePointer<Float>, count: Int) {
        if isNone { return }
        FastMath.map(values, values, count: count) { apply($0) }
    }
}
