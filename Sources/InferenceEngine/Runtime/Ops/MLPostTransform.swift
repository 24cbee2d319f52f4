#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `post_transform` of the ONNX-ML classifiers, applied to one row of scores in place.
///
/// Works on a pointer rather than an array so that the general executor and the bound kernels
/// of a ``ShapePlan`` share it and a planned run allocates nothing per row.
enum MLPostTransform: String, Sendable {
    case none = "NONE", softmax = "SOFTMAX", logistic = "LOGISTIC", softmaxZero = "SOFTMAX_ZERO", probit = "PROBIT"

    init(_ name: String, _ compiler: OperatorCompiler) throws(ModelLoadError) {
        guard let v = MLPostTransform(rawValue: name) else { throw compiler.fail("unsupported post_transform '\(name)'") }
        self = v
    }

    static func logistic(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    static func probit(_ x: Float) -> Float {
        // sqrt(2) · erfinv(2x − 1), as onnxruntime's ComputeProbit.
        let v = 2 * x - 1
        let a: Float = 0.147
        let ln = logf((1 - v) * (1 + v))
        let t = 2 / (Float.pi * a) + ln / 2
        let r = sqrtf(sqrtf(t * t - ln / a) - t)
        return 1.4142135 * (v < 0 ? -r : r)
    }

    /// onnxruntime's `write_scores`: the transform plus its binary (one score) conventions, on
    /// the `count` scores at `s`, which has room for one more when `count` is 1 (the binary
    /// conventions add the second class). Returns how many scores the row holds afterwards.
    func write(_ s: UnsafeMutablePointer<Float>, count: Int, addSecondClass: Int) -> Int {
        if count >= 2 {
            switch self {
            case .probit: for i in 0..<count { s[i] = Self.probit(s[i]) }
            case .logistic: for i in 0..<count { s[i] = Self.logistic(s[i]) }
            case .softmax:
                let m = Self.maximum(s, count)
                var sum: Float = 0
                for i in 0..<count { s[i] = expf(s[i] - m); sum += s[i] }
                for i in 0..<count { s[i] /= sum }
            case .softmaxZero:
                let m = Self.maximum(s, count)
                var sum: Float = 0
                for i in 0..<count where s[i] != 0 { s[i] = expf(s[i] - m); sum += s[i] }
                for i in 0..<count where s[i] != 0 { s[i] /= sum }
            case .none: break
            }
            return count
        }
        guard count == 1 else { return count }
        if self == .probit { s[0] = Self.probit(s[0]); return 1 }
        switch addSecondClass {
        case 0, 1:
            s[1] = s[0]; s[0] = 1 - s[0]
        case 2:
            if self == .logistic { s[1] = Self.logistic(s[0]); s[0] = Self.logistic(-s[0]) } else { s[1] = s[0]; s[0] = -s[0] }
        case 3:
            if self == .logistic { s[1] = Self.logistic(s[0]); s[0] = Self.logistic(-s[0]) } else { s[1] = -s[0] }
        default:
            if self == .logistic { s[0] = Self.logistic(s[0]) }
            return 1
        }
        return 2
    }

    /// The largest score, NaN handled as `Array.max()` does (a NaN first element wins, later
    /// NaNs are skipped), which the array implementation this replaces used.
    private static func maximum(_ s: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var m = s[0]
        for i in 1..<count where m < s[i] { m = s[i] }
        return m
    }
}
