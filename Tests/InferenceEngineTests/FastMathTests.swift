import Foundation
import Testing
@testable import InferenceEngine

/// Measures FastMath's error against libm in Double over a dense sweep and checks the bounds its
/// documentation states.
@Suite("FastMath")
struct FastMathTests {
    /// Every 2⁻¹⁰ step in [-20, 20], plus tiny magnitudes and both signs of zero.
    static let sweep: [Float] = {
        var xs = (-20 * 1024...20 * 1024).map { Float($0) / 1024 }
        for e in stride(from: -149, through: -10, by: 3) {
            let v = Float(sign: .plus, exponent: e, significand: 1.37)
            xs += [v, -v]
        }
        xs += [-0.0, 0.624, 0.626, -0.624, -0.626, 0.874, 0.876, -0.874, -0.876, 3.94, 3.96, -3.96, 100, -100, 1e30, -1e30]
        return xs
    }()

    /// Applies `f` through the pointer loop (full vectors and a partial tail), as kernels do.
    static func evaluate(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>) -> [Float] {
        var ys = [Float](repeating: .nan, count: xs.count)
        xs.withUnsafeBufferPointer { px in ys.withUnsafeMutableBufferPointer { py in
            FastMath.map(px.baseAddress!, py.baseAddress!, count: xs.count, f)
        } }
        return ys
    }

    /// Largest error over `xs` (relative where `relative`, else absolute), with its argument.
    static func worst(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>, _ reference: (Double) -> Double,
                      relative: Bool) -> (error: Double, at: Float) {
        let ys = evaluate(xs, f)
        var worst = (error: 0.0, at: Float(0))
        for (x, y) in zip(xs, ys) {
            let expected = reference(Double(x))
            var error = abs(Double(y) - expected)
            if relative { error /= abs(expected) }
            if !(error <= worst.error) { worst = (error, x) }
        }
        return worst
    }

    @Test func expRelativeError() {
        // The sweep plus every 2⁻⁶ step over the whole range with normal results.
        let wide = (Int(-87.33 * 64)...Int(88.72 * 64)).map { Float($0) / 64 }
        let w = Self.worst(Self.sweep.filter { $0 >= -87.33 && $0 <= 88.72 } + wide + [88.72283, -87.33654],
                           FastMath.exp, Foundation.exp, relative: true)
        #expect(w.error <= 1.5e-7, "exp: relative error \(w.error) at \(w.at)")
    }

    @Test func sigmoidAbsoluteError() {
        let w = Self.worst(Self.sweep, FastMath.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, relative: false)
        #expect(w.error <= 1.2e-7, "sigmoid: absolute error \(w.error) at \(w.at)")
    }

    @Test func tanhError() {
        let w = Self.worst(Self.sweep, FastMath.tanh, Foundation.tanh, relative: false)
        #expect(w.error <= 1e-7, "tanh: absolute error \(w.error) at \(w.at)")
        let near = Self.worst(Self.sweep.filter { abs($0) >= .leastNormalMagnitude && abs($0) < 0.625 }, FastMath.tanh, Foundation.tanh, relative: true)
        #expect(near.error <= 1e-7, "tanh: relative error \(near.error) at \(near.at)")
    }

    @Test func erfError() {
        let w = Self.worst(Self.sweep, FastMath.erf, Foundation.erf, relative: false)
        #expect(w.error <= 1.5e-7, "erf: absolute error \(w.error) at \(w.at)")
        let near = Self.worst(Self.sweep.filter { abs($0) >= .leastNormalMagnitude && abs($0) < 0.875 }, FastMath.erf, Foundation.erf, relative: true)
        #expect(near.error <= 2.5e-7, "erf: relative error \(near.error) at \(near.at)")
    }

    @Test func specialValues() {
        let xs: [Float] = [.nan, .infinity, -.infinity, 88.8, 1000, -87.4, -1000, 0, -0.0]
        let e = Self.evaluate(xs, FastMath.exp)
        #expect(e[0].isNaN)
        #expect(Array(e[1...]) == [.infinity, 0, .infinity, .infinity, 0, 0, 1, 1])
        let s = Self.evaluate(xs, FastMath.sigmoid)
        #expect(s[0].isNaN)
        #expect(Array(s[1...4]) + Array(s[6...]) == [1, 0, 1, 1, 0, 0.5, 0.5])
        #expect(s[5] > 1e-38 && s[5] < 1.2e-38)   // 1 / (1 + e^87.4)
        let t = Self.evaluate(xs, FastMath.tanh)
        #expect(t[0].isNaN)
        #expect(Array(t[1...6]) == [1, -1, 1, 1, -1, -1])
        #expect(t[7] == 0 && t[8] == 0 && t[8].sign == .minus)
        let r = Self.evaluate(xs, FastMath.erf)
        #expect(r[0].isNaN)
        #expect(Array(r[1...6]) == [1, -1, 1, 1, -1, -1])
        #expect(r[8].sign == .minus)
    }

    /// The vector epilogue activations agree with the scalar (libm) reference.
    @Test(arguments: [EpilogueActivation.none, .relu, .sigmoid, .tanh, .gelu(approximateTanh: false),
                      .gelu(approximateTanh: true), .leakyRelu(alpha: 0.1), .clip(min: -1, max: 6)])
    func vectorActivationMatchesScalar(_ activation: EpilogueActivation) {
        let xs = Self.sweep.filter { abs($0) <= 20 } + [.nan]
        var ys = xs
        ys.withUnsafeMutableBufferPointer { activation.apply(to: $0.baseAddress!, count: $0.count) }
        for (x, y) in zip(xs, ys) {
            let expected = activation.apply(x)
            if expected.isNaN { #expect(y.isNaN, "\(activation)(\(x))"); continue }
            // GELU scales the erf/tanh error by |x|/2.
            let bound: Float = 3e-7 * Swift.max(1, abs(x))
            #expect(abs(y - expected) <= bound, "\(activation)(\(x)) = \(y), expected \(expected)")
        }
    }
}
