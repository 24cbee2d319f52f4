/// Baseline single-threaded SGEMM: `C[m×n] += alpha · A[m×k] · B[k×n]`, row-major with
/// leading dimensions.
///
/// Cache-blocked over k (so a `kBlock × 32` panel of B stays in L1 while every row tile of A
/// streams past it) with a 4×32 register tile of `SIMD16<Float>` accumulators. This is a
/// deliberately simple baseline: a later version replaces it with packed micro-kernels, so the
/// entry point takes plain pointers and strides and nothing else depends on its internals.
enum GemmKernel {
    typealias Vector = SIMD16<Float>

    /// Depth of one k block: 128 × 32 floats of B = 16 KiB, half of a 32 KiB L1d.
    static let kBlock = 128

    static func multiplyAccumulate(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        // With enough rows to amortise it, each kb×32 panel of B is copied into a contiguous
        // buffer first: B rows ldb apart (e.g. 4 KiB for n = 1024) alias in L1 and the TLB.
        let packPanels = m >= 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: kBlock * 32) { panelBuffer in
        let panel = panelBuffer.baseAddress!
        var k0 = 0
        while k0 < k {
            let kb = min(kBlock, k - k0)
            let aBlock = a + k0
            let bBlock = b + k0 * ldb
            var j = 0
            while j + 32 <= n {
                var bTile = UnsafePointer(bBlock + j), bStride = ldb
                if packPanels {
                    for p in 0..<kb {
                        store(load(bBlock + p * ldb + j), panel + p * 32)
                        store(load(bBlock + p * ldb + j + 16), panel + p * 32 + 16)
                    }
                    bTile = UnsafePointer(panel)
                    bStride = 32
                }
                var i = 0
                while i + 4 <= m {
                    tile4x32(kb, alpha, aBlock + i * lda, lda, bTile, bStride, c + i * ldc + j, ldc)
                    i += 4
                }
                while i < m {
                    tile1x32(kb, alpha, aBlock + i * lda, bTile, bStride, c + i * ldc + j)
                    i += 1
                }
                j += 32
            }
            if j + 16 <= n {
                var i = 0
                while i + 4 <= m {
                    tile4x16(kb, alpha, aBlock + i * lda, lda, bBlock + j, ldb, c + i * ldc + j, ldc)
                    i += 4
                }
                while i < m {
                    tile1x16(kb, alpha, aBlock + i * lda, bBlock + j, ldb, c + i * ldc + j)
                    i += 1
                }
                j += 16
            }
            if j < n {
                scalarTail(m: m, columns: j..<n, kb: kb, alpha: alpha, a: aBlock, lda: lda, b: bBlock, ldb: ldb, c: c, ldc: ldc)
            }
            k0 += kb
        }
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

    @inline(__always)
    static func tile4x32(_ kb: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        let c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc
        var r00 = load(c0), r01 = load(c0 + 16)
        var r10 = load(c1), r11 = load(c1 + 16)
        var r20 = load(c2), r21 = load(c2 + 16)
        var r30 = load(c3), r31 = load(c3 + 16)
        var a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
        var bp = b
        for _ in 0..<kb {
            let b0 = load(bp), b1 = load(bp + 16)
            let v0 = Vector(repeating: alpha * a0.pointee)
            let v1 = Vector(repeating: alpha * a1.pointee)
            let v2 = Vector(repeating: alpha * a2.pointee)
            let v3 = Vector(repeating: alpha * a3.pointee)
            r00 = r00.addingProduct(v0, b0); r01 = r01.addingProduct(v0, b1)
            r10 = r10.addingProduct(v1, b0); r11 = r11.addingProduct(v1, b1)
            r20 = r20.addingProduct(v2, b0); r21 = r21.addingProduct(v2, b1)
            r30 = r30.addingProduct(v3, b0); r31 = r31.addingProduct(v3, b1)
            a0 += 1; a1 += 1; a2 += 1; a3 += 1
            bp += ldb
        }
        store(r00, c0); store(r01, c0 + 16)
        store(r10, c1); store(r11, c1 + 16)
        store(r20, c2); store(r21, c2 + 16)
        store(r30, c3); store(r31, c3 + 16)
    }

    @inline(__always)
    static func tile4x16(_ kb: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        let c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc
        var r0 = load(c0), r1 = load(c1), r2 = load(c2), r3 = load(c3)
        var a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
        var bp = b
        for _ in 0..<kb {
            let b0 = load(bp)
            r0 = r0.addingProduct(Vector(repeating: alpha * a0.pointee), b0)
            r1 = r1.addingProduct(Vector(repeating: alpha * a1.pointee), b0)
            r2 = r2.addingProduct(Vector(repeating: alpha * a2.pointee), b0)
            r3 = r3.addingProduct(Vector(repeating: alpha * a3.pointee), b0)
            a0 += 1; a1 += 1; a2 += 1; a3 += 1
            bp += ldb
        }
        store(r0, c0); store(r1, c1); store(r2, c2); store(r3, c3)
    }

    @inline(__always)
    static func tile1x32(_ kb: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>) {
        var r0 = load(c), r1 = load(c + 16)
        var ap = a
        var bp = b
        for _ in 0..<kb {
            let v = Vector(repeating: alpha * ap.pointee)
            r0 = r0.addingProduct(v, load(bp))
            r1 = r1.addingProduct(v, load(bp + 16))
            ap += 1
            bp += ldb
        }
        store(r0, c); store(r1, c + 16)
    }

    @inline(__always)
    static func tile1x16(_ kb: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>) {
        var r0 = load(c)
        var ap = a
        var bp = b
        for _ in 0..<kb {
            r0 = r0.addingProduct(Vector(repeating: alpha * ap.pointee), load(bp))
            ap += 1
            bp += ldb
        }
        store(r0, c)
    }

    /// Fewer than 16 remaining columns: plain loops, still pointer-based.
    static func scalarTail(m: Int, columns: Range<Int>, kb: Int, alpha: Float,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            let arow = a + i * lda
            let crow = c + i * ldc
            for j in columns {
                var sum: Float = 0
                var bp = b + j
                for p in 0..<kb {
                    sum += arow[p] * bp.pointee
                    bp += ldb
                }
                crow[j] += alpha * sum
            }
        }
    }

    /// `dst[cols×rows] = transpose(src[rows×cols])`, in 32×32 blocks to stay cache friendly.
    static func transpose(rows: Int, cols: Int, src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>) {
        let block = 32
        var i0 = 0
        while i0 < rows {
            let i1 = min(i0 + block, rows)
            var j0 = 0
            while j0 < cols {
                let j1 = min(j0 + block, cols)
                for i in i0..<i1 {
                    for j in j0..<j1 { dst[j * rows + i] = src[i * cols + j] }
                }
                j0 = j1
            }
            i0 = i1
        }
    }

    /// Transposes a whole row-major matrix held in an array (used to pre-transpose constant
    /// `transB` weights once at load time).
    static func transposed(_ values: [Float], rows: Int, cols: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * cols) { buffer, initialized in
            values.withUnsafeBufferPointer { src in
                if rows * cols > 0 { transpose(rows: rows, cols: cols, src: src.baseAddress!, dst: buffer.baseAddress!) }
            }
            initialized = rows * cols
        }
    }
}
