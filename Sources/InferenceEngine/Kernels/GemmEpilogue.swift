#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Activation a fused GEMM/Conv epilogue applies to each output element.
enum EpilogueActivation: Sendable, Equatable {
    case none
    case relu
    case sigmoid
    case tanh
    /// GELU; `approximateTanh` selects `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` over the
    /// exact erf form.
    case gelu(approximateTanh: Bool)
    case leakyRelu(alpha: Float)
    case clip(min: Float, max: Float)

    /// `self == .none`, as a test of the case alone: the synthesized `==` of an enum with
    /// payloads is an out-of-line call, which per-vector epilogue checks made 2 % of a CNN's run.
    @inline(__always)
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    /// Exact (libm) reference value; fast kernels must stay within their stated error bound of it.
    @inline(__always)
    func apply(_ x: Float) -> Float {
        switch self {
        case .none: x
        case .relu: Swift.max(x, 0)
        case .sigmoid: 1 / (1 + expf(-x))
        case .tanh: tanhf(x)
        case .gelu(let approximate):
            approximate
                ? 0.5 * x * (1 + tanhf(0.7978845608 * (x + 0.044715 * x * x * x)))
                : 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .leakyRelu(let alpha): x >= 0 ? x : alpha * x
        case .clip(let lo, let hi): Swift.min(Swift.max(x, lo), hi)
        }
    }
}

/// What a GEMM applies to each output tile while it is still in registers, so the output is
/// written once: `y = alpha·A·B (+ bias) (+ residual, if before) → activation (+ residual, if after)`.
///
/// Pointers are borrowed for the duration of one kernel call.
struct GemmEpilogue {
    /// Bias added to every element: `bias[column]` (Gemm/MatMul+Add, length n) or, when
    /// ``biasPerRow``, `bias[row]` (Conv as `W·im2col`, one value per output channel, length m).
    var bias: UnsafePointer<Float>? = nil
    var biasPerRow = false
    var activation: EpilogueActivation = .none
    /// Residual tensor added elementwise, `residual[row·residualStride + column]`.
    var residual: UnsafePointer<Float>? = nil
    var residualStride = 0
    /// `true`: `act(AB + bias + residual)` (ResNet blocks); `false`: `act(AB + bias) + residual`
    /// (transformer sublayers).
    var residualBeforeActivation = false

    var isIdentity: Bool { bias == nil && residual == nil && activation.isNone }

    /// Reference epilogue of one element at (`row`, `column`), for tests and scalar tails.
    @inline(__always)
    func apply(_ accumulated: Float, row: Int, column: Int) -> Float {
        var v = accumulated
        if let bias { v += biasPerRow ? bias[row] : bias[column] }
        if let residual, residualBeforeActivation { v += residual[row * residualStride + column] }
        v = activation.apply(v)
        if let residual, !residualBeforeActivation { v += residual[row * residualStride + column] }
        return v
    }
}
