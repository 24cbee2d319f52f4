#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Vector helpers for the sliding-window kernels (Conv, pools): partial loads and stores that
/// move whole 8/4/2-lane pieces instead of one lane at a time, and a 16 × 16 transpose in
/// registers.
enum VectorBlocks {
    typealias Vector = SIMD16<Float>

    /// Stores the first `count` (0...16) lanes of `v`: at most four stores (8, 4, 2, 1 lanes),
    /// never touching memory past `p + count`. `FastMath.store(_:_:count:)` moves one lane at a
    /// time, which dominated kernels whose rows are 4 or 8 outputs wide.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 16 { return FastMath.store(v, p) }
        let raw = UnsafeMutableRawPointer(p)
        var offset = 0
        var eight = v.lowHalf
        if count & 8 != 0 { raw.storeBytes(of: v.lowHalf, as: SIMD8<Float>.self); eight = v.highHalf; offset = 32 }
        var four = eight.lowHalf
        if count & 4 != 0 { (raw + offset).storeBytes(of: eight.lowHalf, as: SIMD4<Float>.self); four = eight.highHalf; offset += 16 }
        var two = four.lowHalf
        if count & 2 != 0 { (raw + offset).storeBytes(of: four.lowHalf, as: SIMD2<Float>.self); two = four.highHalf; offset += 8 }
        if count & 1 != 0 { (raw + offset).storeBytes(of: two[0], as: Float.self) }
    }

    /// The first `count` (0...16) lanes from `p`, zeros in the rest, reading nothing past `p + count`.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, count: Int) -> Vector {
        if count >= 16 { return FastMath.load(p) }
        let raw = UnsafeRawPointer(p)
        if count >= 8 { return Vector(lowHalf: raw.loadUnaligned(as: SIMD8<Float>.self), highHalf: load8(p + 8, count: count - 8)) }
        return Vector(lowHalf: load8(p, count: count), highHalf: SIMD8())
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>, count: Int) -> SIMD8<Float> {
        if count >= 4 { return SIMD8(lowHalf: UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self), highHalf: load4(p + 4, count: count - 4)) }
        return SIMD8(lowHalf: load4(p, count: count), highHalf: SIMD4())
    }

    @inline(__always)
    static func load4(_ p: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        if count >= 2 {
            return SIMD4(lowHalf: UnsafeRawPointer(p).loadUnaligned(as: SIMD2<Float>.self), highHalf: SIMD2(count == 3 ? p[2] : 0, 0))
        }
        return SIMD4(count == 1 ? p[0] : 0, 0, 0, 0)
    }

    /// Bit reversal of a 4-bit index: the order in which ``transpose(_:)`` takes its rows and
    /// hands back its columns.
    static let bitReversed: [Int] = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15]

    /// Transposes a 16 × 16 block held as 16 row vectors, in four rounds of pairwise
    /// even/odd unzips (one `vpermt2ps` each, 64 in all).
    ///
    /// Element `j` of row `r` must be in `rows[bitReversed[r]]`; afterwards `rows[bitReversed[j]]`
    /// holds column `j` (lane `r` = element `j` of row `r`). Callers load and store through
    /// ``bitReversed`` rather than permute in registers.
    @inline(__always)
    static func transpose(_ v: inout (Vector, Vector, Vector, Vector, Vector, Vector, Vector, Vector,
                                      Vector, Vector, Vector, Vector, Vector, Vector, Vector, Vector)) {
        for _ in 0..<4 {
            let c0 = SIMD32(lowHalf: v.0, highHalf: v.8), c1 = SIMD32(lowHalf: v.1, highHalf: v.9)
            let c2 = SIMD32(lowHalf: v.2, highHalf: v.10), c3 = SIMD32(lowHalf: v.3, highHalf: v.11)
            let c4 = SIMD32(lowHalf: v.4, highHalf: v.12), c5 = SIMD32(lowHalf: v.5, highHalf: v.13)
            let c6 = SIMD32(lowHalf: v.6, highHalf: v.14), c7 = SIMD32(lowHalf: v.7, highHalf: v.15)
            v = (c0.evenHalf, c0.oddHalf, c1.evenHalf, c1.oddHalf, c2.evenHalf, c2.oddHalf, c3.evenHalf, c3.oddHalf,
                 c4.evenHalf, c4.oddHalf, c5.evenHalf, c5.oddHalf, c6.evenHalf, c6.oddHalf, c7.evenHalf, c7.oddHalf)
        }
    }

    /// Transposes a `rows × columns` (each ≤ 16) block: row `r` is read from `src + r·srcStride`
    /// (`columns` floats), column `j` is written to `dst + j·dstStride` (`rows` floats, or all 16
    /// lanes when `wholeColumns`). Rows past `rows` read as zero; nothing is read outside the
    /// block, nor written outside it unless `wholeColumns`.
    @inline(__always)
    static func transposeBlock(_ src: UnsafePointer<Float>, srcStride: Int, rows: Int, columns: Int,
                               _ dst: UnsafeMutablePointer<Float>, dstStride: Int, wholeColumns: Bool = false) {
        @inline(__always) func row(_ r: Int) -> Vector {
            r < rows ? (columns == 16 ? FastMath.load(src + r &* srcStride) : load(src + r &* srcStride, count: columns)) : Vector()
        }
        @inline(__always) func put(_ v: Vector, _ j: Int) {
            guard j < columns else { return }
            if rows == 16 || wholeColumns { FastMath.store(v, dst + j &* dstStride) } else { store(v, dst + j &* dstStride, count: rows) }
        }
        var v = (row(0), row(8), row(4), row(12), row(2), row(10), row(6), row(14),
                 row(1), row(9), row(5), row(13), row(3), row(11), row(7), row(15))
        transpose(&v)
        put(v.0, 0); put(v.1, 8); put(v.2, 4); put(v.3, 12); put(v.4, 2); put(v.5, 10); put(v.6, 6); put(v.7, 14)
        put(v.8, 1); put(v.9, 9); put(v.10, 5); put(v.11, 13); put(v.12, 3); put(v.13, 11); put(v.14, 7); put(v.15, 15)
    }

    /// Interleaves `planes` (≤ 16) planes of `pixels` floats, `pixels` apart from `src`, into
    /// `dst`: lane l of the vector at `dst + 16·i` is pixel i of plane l (lanes past `planes`
    /// are zero). Writes 16·`pixels` floats.
    static func interleave(_ src: UnsafePointer<Float>, planes: Int, pixels: Int, into dst: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < pixels {
            transposeBlock(src + j, srcStride: pixels, rows: planes, columns: Swift.min(16, pixels - j),
                           dst + j &* 16, dstStride: 16, wholeColumns: true)
            j &+= 16
        }
    }

    /// The inverse of ``interleave(_:planes:pixels:into:)``: lane l of the vector at
    /// `src + 16·i` goes to pixel i of plane l, planes `pixels` apart from `dst`; lanes past
    /// `planes` are dropped.
    static func deinterleave(_ src: UnsafePointer<Float>, planes: Int, pixels: Int, into dst: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < pixels {
            transposeBlock(src + j &* 16, srcStride: 16, rows: Swift.min(16, pixels - j), columns: planes,
                           dst + j, dstStride: pixels)
            j &+= 16
        }
    }
}
