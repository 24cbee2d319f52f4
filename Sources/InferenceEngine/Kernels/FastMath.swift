/// Vectorized float approximations of `exp`, `sigmoid`, `tanh` and `erf` on `SIMD16<Float>`,
/// for the activation, softmax and recurrent kernels.
///
/// libm's scalar `expf`/`tanhf`/`erff` cost 15-40 cycles an element and block vectorization;
/// these evaluate 16 lanes in a few dozen instructions (FMA + blends, no table lookups, no
/// branches). Error bounds, measured by `FastMathTests` over every 2⁻¹⁰ step in [-20, 20] plus
/// extremes against libm in Double:
///
/// | function | bound | notes |
/// |---|---|---|
/// | ``exp(_:)-swift.type.method`` | relative 1.5e-7 (measured 1.1e-7, ≈ 1 ulp) | results below 2⁻¹²⁶ (x < -87.34) flush to +0 |
/// | ``sigmoid(_:)-swift.type.method`` | absolute 1.2e-7 (measured 8.9e-8) | |
/// | ``tanh(_:)-swift.type.method`` | absolute 1e-7 (measured 7.2e-8); relative 1e-7 for normal abs(x) < 0.625 | |
/// | ``erf(_:)-swift.type.method`` | absolute 1.5e-7 (measured 1.0e-7); relative 2.5e-7 for normal abs(x) < 0.875 | |
///
/// Special values: NaN in gives NaN out; exp(+inf) = +inf, exp(-inf) = 0; sigmoid(±inf) = 1 / 0;
/// tanh(±inf) = erf(±inf) = ±1; exp overflows to +inf above ln(Float.greatestFiniteMagnitude).
enum FastMath {
    typealias Vector = SIMD16<Float>
    typealias Bits = SIMD16<UInt32>

    // MARK: Vector functions

    /// `e^x`: `x = n·ln2 + r` with `|r| ≤ ln2/2`, a degree-6 polynomial for `e^r` (minimax
    /// relative error 3e-9) and `2^n` assembled in the exponent bits.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        let upper: Float = 88.72283     // just below ln(Float.greatestFiniteMagnitude)
        let lower: Float = -87.33654    // ln(Float.leastNormalMagnitude)
        let z = shifted(clamp(x, lower, upper))
        // n = 128 (x ≥ 88.38) has no float 2ⁿ: use 2¹²⁷ and double the result.
        let top = z.n .>= 128
        let zScale = z.z.replacing(with: z.z - 1, where: top)
        var y = z.p * Vector(bitPattern: Bits(bitPattern: zScale) &<< 23)
        y.replace(with: y + y, where: top)
        y.replace(with: .infinity, where: x .> upper)
        y.replace(with: 0, where: x .< lower)
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// `e^x` for `x` known to be finite and in `-87.3...88.3` (erf's and tanh's clamped
    /// arguments): ``exp(_:)`` without its range and NaN checks, bit for bit the same there.
    @inline(__always)
    static func expInRange(_ x: Vector) -> Vector {
        let z = shifted(x)
        return z.p * Vector(bitPattern: Bits(bitPattern: z.z) &<< 23)
    }

    /// The shared core of the exponentials: `z` holds n + 127 in its low mantissa bits, `p` is
    /// `e^r` for the remainder r = x - n·ln2.
    @inline(__always)
    private static func shifted(_ xc: Vector) -> (z: Vector, n: Vector, p: Vector) {
        // Adding 1.5·2²³ rounds x·log2(e) to an integer n in the low mantissa bits of z, so no
        // float→int conversion is needed; the +127 makes `bits(z) << 23` the biased exponent of 2ⁿ.
        let shifter = Vector(repeating: 12_582_912 + 127)
        let z = shifter.addingProduct(xc, Vector(repeating: 1.442695040888963))
        let n = z - shifter
        // Cody-Waite: ln2 split into a high part exact in float (n·hi has no rounding error) and the rest.
        var r = xc.addingProduct(n, Vector(repeating: -0.693145751953125))
        r = r.addingProduct(n, Vector(repeating: -1.428606765330187e-06))
        var p = Vector(repeating: 0.008368710530324779).addingProduct(Vector(repeating: 0.0013814628220272683), r)
        p = Vector(repeating: 0.04166838711785869).addingProduct(p, r)
        p = Vector(repeating: 0.16666520682245684).addingProduct(p, r)
        p = Vector(repeating: 0.4999999345258098).addingProduct(p, r)
        p = (r + 1).addingProduct(p, r * r)
        return (z, n, p)
    }

    /// `1 / (1 + e^-x)`; saturates to exactly 0 and 1 where `e^-x` over- or underflows.
    @inline(__always)
    static func sigmoid(_ x: Vector) -> Vector {
        1 / (1 + exp(-x))
    }

    /// `tanh(x)`: an odd polynomial near zero (relative accuracy where tanh is small), else
    /// `1 - 2 / (e^2|x| + 1)` with the sign of x.
    @inline(__always)
    static func tanh(_ x: Vector) -> Vector {
        let a = magnitude(x)
        let x2 = x * x
        var p = Vector(repeating: 0.020639094083769342).addingProduct(Vector(repeating: -0.005704993817791903), x2)
        p = Vector(repeating: -0.05373971748212127).addingProduct(p, x2)
        p = Vector(repeating: 0.13331442231961615).addingProduct(p, x2)
        p = Vector(repeating: -0.3333328194354118).addingProduct(p, x2)
        let small = a.addingProduct(p, x2 * a)
        // Clamped so the exponential needs no range checks; at 2|x| = 88 the quotient is far
        // below 1's rounding step, so tanh is exactly ±1 there as before.
        let large = 1 - 2 / (expInRange(clamp(a + a, 0, 88)) + 1)
        // Both branches on |x|, then x's sign bit: keeps tanh odd, including tanh(-0) = -0.
        var y = withSign(large.replacing(with: small, where: a .< 0.625), of: x)
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// `erf(x)`: `x·P(x²)` for `|x| < 0.875`, else `1 - e^(-x²)·Q(1 / (1 + |x|/2))` with the
    /// sign of x (erf rounds to ±1 in float beyond |x| ≈ 3.92, where Q's fit ends).
    @inline(__always)
    static func erf(_ x: Vector) -> Vector {
        let x2 = x * x
        var p = Vector(repeating: 0.005032238586866749).addingProduct(Vector(repeating: -0.000620352516506694), x2)
        p = Vector(repeating: -0.026791507267515807).addingProduct(p, x2)
        p = Vector(repeating: 0.11282456827528542).addingProduct(p, x2)
        p = Vector(repeating: -0.3761255067176382).addingProduct(p, x2)
        p = Vector(repeating: 1.1283791575724553).addingProduct(p, x2)
        let small = x * p
        let a = clamp(magnitude(x), 0, 3.95)
        let t = 1 / Vector(repeating: 1).addingProduct(a, Vector(repeating: 0.5))
        var q = Vector(repeating: 0.6279629455015098).addingProduct(Vector(repeating: -0.22783087616339306), t)
        q = Vector(repeating: -0.0542638365012382).addingProduct(q, t)
        q = Vector(repeating: 0.39085907708717443).addingProduct(q, t)
        q = Vector(repeating: 0.26142621492950274).addingProduct(q, t)
        q = Vector(repeating: 0.001622817505759775).addingProduct(q, t)
        let large = withSign(1 - expInRange(-(a * a)) * q, of: x)
        var y = large.replacing(with: small, where: magnitude(x) .< 0.875)
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// `x` limited to `lower...upper` with two compare-and-blends (NaN passes through): the
    /// standard library's `clamped` goes through generic `pointwiseMin`/`pointwiseMax` calls
    /// that do not inline into vector code.
    @inline(__always)
    static func clamp(_ x: Vector, _ lower: Float, _ upper: Float) -> Vector {
        x.replacing(with: lower, where: x .< lower).replacing(with: upper, where: x .> upper)
    }

    /// |x| by clearing the sign bits (NaN stays NaN).
    @inline(__always)
    static func magnitude(_ x: Vector) -> Vector {
        Vector(bitPattern: Bits(bitPattern: x) & 0x7FFF_FFFF)
    }

    /// `magnitude` (non-negative) with the sign bit of `x`.
    @inline(__always)
    static func withSign(_ magnitude: Vector, of x: Vector) -> Vector {
        Vector(bitPattern: Bits(bitPattern: magnitude) | (Bits(bitPattern: x) & 0x8000_0000))
    }

    // MARK: Reductions

    /// Sum of the lanes as a tree of halves: 4 dependent adds instead of the standard
    /// library's 15 (`sum()` adds lane by lane, in order).
    @inline(__always)
    static func sum(_ v: Vector) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// Largest value; NaNs are skipped (as `Swift.max(best, value)` skips them).
    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var best = Vector(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            let v = FastMath.load(x + i)
            best.replace(with: v, where: v .> best)
            i += 16
        }
        var m = FastMath.maximum(best)
        while i < count { m = Swift.max(m, x[i]); i += 1 }
        return m
    }

    /// Largest lane, as a tree of halves. With NaN lanes the result may be NaN or the largest
    /// number: softmax turns a NaN row into NaN either way, and the pools never pass NaN lanes.
    @inline(__always)
    static func maximum(_ v: Vector) -> Float {
        @inline(__always) func larger<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float { a.replacing(with: b, where: b .> a) }
        let a = larger(v.lowHalf, v.highHalf)
        let b = larger(a.lowHalf, a.highHalf)
        let c = larger(b.lowHalf, b.highHalf)
        return c[1] > c[0] ? c[1] : c[0]
    }

    // MARK: Scalars and arrays

    /// One lane of the vector function, for tails and scalar call sites that must agree with
    /// the vector loops bit for bit.
    @inline(__always)
    static func scalar(_ x: Float, _ f: (Vector) -> Vector) -> Float {
        f(Vector(repeating: x))[0]
    }

    /// `y[i] = f(x[i])` for `i < count`, 16 lanes at a time; the last partial vector is staged
    /// through a register so nothing past `count` is read or written. `x` may equal `y`.
    @inline(__always)
    static func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, _ f: (Vector) -> Vector) {
        var i = 0
        while i &+ 16 <= count {
            store(f(load(x + i)), y + i)
            i &+= 16
        }
        if i < count {
            let rest = count &- i
            store(f(load(x + i, count: rest)), y + i, count: rest)
        }
    }

    /// `y[i] = f(a[i], b[i])` for `i < count`; `y` may equal `a` or `b`.
    @inline(__always)
    static func map(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                    _ f: (Vector, Vector) -> Vector) {
        var i = 0
        while i &+ 16 <= count {
            store(f(load(a + i), load(b + i)), y + i)
            i &+= 16
        }
        if i < count {
            let rest = count &- i
            store(f(load(a + i, count: rest), load(b + i, count: rest)), y + i, count: rest)
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// The first `count` (< 16) lanes from `p`, zeros in the rest.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, count: Int) -> Vector {
        var v = Vector(repeating: 0)
        for j in 0..<count { v[j] = p[j] }
        return v
    }

    /// Stores the first `count` (< 16) lanes of `v`.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, count: Int) {
        for j in 0..<count { p[j] = v[j] }
    }
}

extension SIMD16 where Scalar == Float {
    /// Reinterprets 16 bit patterns as floats (no conversion).
    @inline(__always)
    init(bitPattern bits: SIMD16<UInt32>) {
        self = unsafeBitCast(bits, to: SIMD16<Float>.self)
    }
}

extension SIMD16 where Scalar == UInt32 {
    /// The bit patterns of 16 floats (no conversion).
    @inline(__always)
    init(bitPattern floats: SIMD16<Float>) {
        self = unsafeBitCast(floats, to: SIMD16<UInt32>.self)
    }
}
