/// The register-blocked micro-kernels and what they do with a finished tile.
extension GemmKernel {
    /// What to do with a tile's accumulators: scale, add `beta·C` (first K slice only) and, on
    /// the last K slice, the epilogue. Pointers are already offset to the tile's origin.
    struct TileFinish {
        var alpha: Float
        var beta: Float
        var applyEpilogue = false
        var activation = EpilogueActivation.none
        var columnBias: UnsafePointer<Float>?
        var rowBias: UnsafePointer<Float>?
        var residual: UnsafePointer<Float>?
        var residualStride = 0
        var residualBeforeActivation = false

        init(alpha: Float, beta: Float, epilogue: GemmEpilogue?) {
            self.alpha = alpha
            self.beta = beta
            if let epilogue, !epilogue.isIdentity {
                applyEpilogue = true
                activation = epilogue.activation
                residualStride = epilogue.residualStride
                residualBeforeActivation = epilogue.residualBeforeActivation
            }
        }

        /// Points bias and residual at the tile whose first element is C[row][column].
        @inline(__always)
        mutating func locate(row: Int, column: Int, epilogue: GemmEpilogue) {
            guard applyEpilogue else { return }
            if let bias = epilogue.bias {
                if epilogue.biasPerRow { rowBias = bias + row } else { columnBias = bias + column }
            }
            if let residual = epilogue.residual { self.residual = residual + row * residualStride + column }
        }
    }

    /// Selects the specialisation for a tile of `rows` (1...12) rows: each case inlines
    /// `microTile` with constant arguments, so unused rows and branches disappear.
    @inline(__always)
    static func tile(rows: Int, wide: Bool, packedA: Bool, k: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, _ finish: TileFinish) {
        switch (wide, packedA) {
        case (true, true): tileWidePacked(rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case (true, false): tileWide(rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case (false, true): tileNarrowPacked(rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case (false, false): tileNarrow(rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        }
    }

    @inline(never)
    static func tileWidePacked(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, _ f: TileFinish) {
        switch rows {
        case 12: microTile(rows: 12, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 11: microTile(rows: 11, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 10: microTile(rows: 10, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 9: microTile(rows: 9, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 8: microTile(rows: 8, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 7: microTile(rows: 7, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 6: microTile(rows: 6, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 5: microTile(rows: 5, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 4: microTile(rows: 4, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 3: microTile(rows: 3, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 2: microTile(rows: 2, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        default: microTile(rows: 1, wide: true, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        }
    }

    @inline(never)
    static func tileWide(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, _ f: TileFinish) {
        switch rows {
        case 12: microTile(rows: 12, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 11: microTile(rows: 11, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 10: microTile(rows: 10, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 9: microTile(rows: 9, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 8: microTile(rows: 8, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 7: microTile(rows: 7, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 6: microTile(rows: 6, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 5: microTile(rows: 5, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 4: microTile(rows: 4, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 3: microTile(rows: 3, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 2: microTile(rows: 2, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        default: microTile(rows: 1, wide: true, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        }
    }

    @inline(never)
    static func tileNarrowPacked(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, _ f: TileFinish) {
        switch rows {
        case 12: microTile(rows: 12, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 11: microTile(rows: 11, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 10: microTile(rows: 10, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 9: microTile(rows: 9, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 8: microTile(rows: 8, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 7: microTile(rows: 7, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 6: microTile(rows: 6, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 5: microTile(rows: 5, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 4: microTile(rows: 4, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 3: microTile(rows: 3, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 2: microTile(rows: 2, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        default: microTile(rows: 1, wide: false, packedA: true, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        }
    }

    @inline(never)
    static func tileNarrow(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, _ f: TileFinish) {
        switch rows {
        case 12: microTile(rows: 12, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 11: microTile(rows: 11, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 10: microTile(rows: 10, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 9: microTile(rows: 9, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 8: microTile(rows: 8, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 7: microTile(rows: 7, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 6: microTile(rows: 6, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 5: microTile(rows: 5, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 4: microTile(rows: 4, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 3: microTile(rows: 3, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        case 2: microTile(rows: 2, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        default: microTile(rows: 1, wide: false, packedA: false, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, f)
        }
    }

    /// A `rows` × (32 or 16) tile over `k` steps. A is either packed (`a[p·12 + r]`) or read
    /// in place (`a[r·lda + p]`); B's rows are `ldb` apart.
    @inline(__always)
    static func microTile(rows: Int, wide: Bool, packedA: Bool, k: Int, a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, _ finish: TileFinish) {
        let z = Vector()
        let packedRows = rowTile
        var c0a = z, c0b = z, c1a = z, c1b = z, c2a = z, c2b = z, c3a = z, c3b = z, c4a = z, c4b = z, c5a = z, c5b = z, c6a = z, c6b = z, c7a = z, c7b = z, c8a = z, c8b = z, c9a = z, c9b = z, c10a = z, c10b = z, c11a = z, c11b = z
        var ap = a, bp = b
        for _ in 0..<k {
            let b0 = load(bp)
            let b1 = wide ? load(bp + 16) : z
            do { let x = broadcastA(ap, 0, lda, packedA); c0a = c0a.addingProduct(x, b0); if wide { c0b = c0b.addingProduct(x, b1) } }
            if rows > 1 { let x = broadcastA(ap, 1, lda, packedA); c1a = c1a.addingProduct(x, b0); if wide { c1b = c1b.addingProduct(x, b1) } }
            if rows > 2 { let x = broadcastA(ap, 2, lda, packedA); c2a = c2a.addingProduct(x, b0); if wide { c2b = c2b.addingProduct(x, b1) } }
            if rows > 3 { let x = broadcastA(ap, 3, lda, packedA); c3a = c3a.addingProduct(x, b0); if wide { c3b = c3b.addingProduct(x, b1) } }
            if rows > 4 { let x = broadcastA(ap, 4, lda, packedA); c4a = c4a.addingProduct(x, b0); if wide { c4b = c4b.addingProduct(x, b1) } }
            if rows > 5 { let x = broadcastA(ap, 5, lda, packedA); c5a = c5a.addingProduct(x, b0); if wide { c5b = c5b.addingProduct(x, b1) } }
            if rows > 6 { let x = broadcastA(ap, 6, lda, packedA); c6a = c6a.addingProduct(x, b0); if wide { c6b = c6b.addingProduct(x, b1) } }
            if rows > 7 { let x = broadcastA(ap, 7, lda, packedA); c7a = c7a.addingProduct(x, b0); if wide { c7b = c7b.addingProduct(x, b1) } }
            if rows > 8 { let x = broadcastA(ap, 8, lda, packedA); c8a = c8a.addingProduct(x, b0); if wide { c8b = c8b.addingProduct(x, b1) } }
            if rows > 9 { let x = broadcastA(ap, 9, lda, packedA); c9a = c9a.addingProduct(x, b0); if wide { c9b = c9b.addingProduct(x, b1) } }
            if rows > 10 { let x = broadcastA(ap, 10, lda, packedA); c10a = c10a.addingProduct(x, b0); if wide { c10b = c10b.addingProduct(x, b1) } }
            if rows > 11 { let x = broadcastA(ap, 11, lda, packedA); c11a = c11a.addingProduct(x, b0); if wide { c11b = c11b.addingProduct(x, b1) } }
            ap += packedA ? packedRows : 1
            bp += ldb
        }
        finishRow(0, c0a, c0b, wide: wide, c: c, ldc: ldc, finish)
        if rows > 1 { finishRow(1, c1a, c1b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 2 { finishRow(2, c2a, c2b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 3 { finishRow(3, c3a, c3b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 4 { finishRow(4, c4a, c4b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 5 { finishRow(5, c5a, c5b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 6 { finishRow(6, c6a, c6b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 7 { finishRow(7, c7a, c7b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 8 { finishRow(8, c8a, c8b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 9 { finishRow(9, c9a, c9b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 10 { finishRow(10, c10a, c10b, wide: wide, c: c, ldc: ldc, finish) }
        if rows > 11 { finishRow(11, c11a, c11b, wide: wide, c: c, ldc: ldc, finish) }
    }

    @inline(__always)
    static func broadcastA(_ a: UnsafePointer<Float>, _ r: Int, _ lda: Int, _ packed: Bool) -> Vector {
        Vector(repeating: packed ? a[r] : a[r * lda])
    }

    /// Scales, adds `beta·C`, applies the epilogue and stores one tile row.
    @inline(__always)
    static func finishRow(_ r: Int, _ v0: Vector, _ v1: Vector, wide: Bool, c: UnsafeMutablePointer<Float>, ldc: Int,
                          _ f: TileFinish) {
        let row = c + r * ldc
        var x0 = v0, x1 = v1
        if f.alpha != 1 { x0 *= f.alpha; x1 *= f.alpha }
        if f.beta == 1 {
            x0 += load(row)
            if wide { x1 += load(row + 16) }
        } else if f.beta != 0 {
            x0 = x0.addingProduct(load(row), Vector(repeating: f.beta))
            if wide { x1 = x1.addingProduct(load(row + 16), Vector(repeating: f.beta)) }
        }
        if f.applyEpilogue {
            if let bias = f.columnBias {
                x0 += load(bias)
                if wide { x1 += load(bias + 16) }
            } else if let bias = f.rowBias {
                let v = Vector(repeating: bias[r])
                x0 += v
                x1 += v
            }
            if let residual = f.residual, f.residualBeforeActivation {
                let rr = residual + r * f.residualStride
                x0 += load(rr)
                if wide { x1 += load(rr + 16) }
            }
            if f.activation != .none {
                x0 = f.activation.apply(x0)
                if wide { x1 = f.activation.apply(x1) }
            }
            if let residual = f.residual, !f.residualBeforeActivation {
                let rr = residual + r * f.residualStride
                x0 += load(rr)
                if wide { x1 += load(rr + 16) }
            }
        }
        store(x0, row)
        if wide { store(x1, row + 16) }
    }

    /// One row of A times one packed panel over all K slices, with eight independent
    /// accumulators so that the loads, not the FMA latency, set the pace.
    @inline(__always)
    static func gemvPanel(wide: Bool, a: UnsafePointer<Float>, b: PackedMatrix, panel p: Int,
                          c: UnsafeMutablePointer<Float>, _ finish: TileFinish) {
        let z = Vector()
        var s0a = z, s0b = z, s1a = z, s1b = z, s2a = z, s2b = z, s3a = z, s3b = z
        let width = wide ? 32 : 16
        for s in 0..<b.sliceCount {
            let (k0, depth) = b.slice(s)
            var bp = b.panel(slice: s, panel: p)
            var ap = a + k0
            var q = 0
            while q + 4 <= depth {
                let x0 = Vector(repeating: ap[0]), x1 = Vector(repeating: ap[1])
                let x2 = Vector(repeating: ap[2]), x3 = Vector(repeating: ap[3])
                s0a = s0a.addingProduct(x0, load(bp))
                s1a = s1a.addingProduct(x1, load(bp + width))
                s2a = s2a.addingProduct(x2, load(bp + 2 * width))
                s3a = s3a.addingProduct(x3, load(bp + 3 * width))
                if wide {
                    s0b = s0b.addingProduct(x0, load(bp + 16))
                    s1b = s1b.addingProduct(x1, load(bp + width + 16))
                    s2b = s2b.addingProduct(x2, load(bp + 2 * width + 16))
                    s3b = s3b.addingProduct(x3, load(bp + 3 * width + 16))
                }
                ap += 4
                bp += 4 * width
                q += 4
            }
            while q < depth {
                let x = Vector(repeating: ap.pointee)
                s0a = s0a.addingProduct(x, load(bp))
                if wide { s0b = s0b.addingProduct(x, load(bp + 16)) }
                ap += 1
                bp += width
                q += 1
            }
        }
        finishRow(0, (s0a + s1a) + (s2a + s3a), (s0b + s1b) + (s2b + s3b), wide: wide, c: c, ldc: 0, finish)
    }

    /// Out-of-line entry to the two GEMV specialisations.
    @inline(never)
    static func gemvTile(wide: Bool, a: UnsafePointer<Float>, b: PackedMatrix, panel p: Int,
                         c: UnsafeMutablePointer<Float>, _ finish: TileFinish) {
        if wide { gemvPanel(wide: true, a: a, b: b, panel: p, c: c, finish) } else { gemvPanel(wide: false, a: a, b: b, panel: p, c: c, finish) }
    }
}
