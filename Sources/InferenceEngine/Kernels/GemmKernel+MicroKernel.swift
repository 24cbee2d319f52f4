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

        /// This finish for the sub-tile `rows` rows and `columns` columns into the tile.
        @inline(__always)
        func offset(rows: Int, columns: Int) -> TileFinish {
            var sub = self
            sub.columnBias = columnBias.map { $0 + columns }
            sub.rowBias = rowBias.map { $0 + rows }
            sub.residual = residual.map { $0 + rows * residualStride + columns }
            return sub
        }
    }

    /// Runs a tile of `rows` (1...12) rows and 32 (`wide`) or 16 columns, as one micro-kernel
    /// call or, under ``RegisterTiling/compact``, as sub-tiles of at most 6 rows × 16 columns.
    @inline(__always)
    static func tile(rows: Int, wide: Bool, packedA: Bool, tiling: RegisterTiling, k: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, _ finish: TileFinish) {
        if tiling == .wide || (rows <= tiling.rows && !wide) {
            microTile(rows: rows, wide: wide, packedA: packedA, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
            return
        }
        let perGroup = RegisterTiling.evenGroupSize(rows, limit: tiling.rows)
        var r0 = 0
        while r0 < rows {
            let count = min(perGroup, rows - r0)
            let aRows = packedA ? a + r0 : a + r0 * lda
            for j in stride(from: 0, to: wide ? 32 : 16, by: 16) {
                microTile(rows: count, wide: false, packedA: packedA, k: k, a: aRows, lda: lda, b: b + j, ldb: ldb,
                          c: c + r0 * ldc + j, ldc: ldc, finish.offset(rows: r0, columns: j))
            }
            r0 += count
        }
    }

    /// Selects the specialisation for a tile of `rows` (1...12) rows. Each one is a separate
    /// generic specialisation in which the row count, width and A layout are constants, so
    /// unused rows and branches disappear (one function holding all of them inline would
    /// exceed the optimizer's size limits and stay generic).
    @inline(__always)
    static func microTile(rows: Int, wide: Bool, packedA: Bool, k: Int, a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, _ finish: TileFinish) {
        switch (wide, packedA) {
        case (true, true): tile(WidePacked.self, rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case (true, false): tile(Wide.self, rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case (false, true): tile(NarrowPacked.self, rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case (false, false): tile(Narrow.self, rows: rows, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        }
    }

    @inline(__always)
    static func tile<V: TileVariant>(_: V.Type, rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                                     ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, _ finish: TileFinish) {
        switch rows {
        case 12: microTile(Rows12.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 11: microTile(Rows11.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 10: microTile(Rows10.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 9: microTile(Rows9.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 8: microTile(Rows8.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 7: microTile(Rows7.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 6: microTile(Rows6.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 5: microTile(Rows5.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 4: microTile(Rows4.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 3: microTile(Rows3.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        case 2: microTile(Rows2.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        default: microTile(Rows1.self, V.self, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, finish)
        }
    }

    /// A `R.count` × (32 or 16) tile over `k` steps. A is either packed (`a[p·12 + r]`) or read
    /// in place (`a[r·lda + p]`); B's rows are `ldb` apart.
    @inline(never)
    static func microTile<R: TileRows, V: TileVariant>(_: R.Type, _: V.Type, k: Int, a: UnsafePointer<Float>, lda: Int,
                                                       b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>,
                                                       ldc: Int, _ finish: TileFinish) {
        let z = Vector()
        let packedRows = rowTile
        var c0a = z, c0b = z, c1a = z, c1b = z, c2a = z, c2b = z, c3a = z, c3b = z, c4a = z, c4b = z, c5a = z, c5b = z, c6a = z, c6b = z, c7a = z, c7b = z, c8a = z, c8b = z, c9a = z, c9b = z, c10a = z, c10b = z, c11a = z, c11b = z
        var ap = a, bp = b
        for _ in 0..<k {
            let b0 = load(bp)
            let b1 = V.wide ? load(bp + 16) : z
            do { let x = broadcastA(ap, 0, lda, V.packedA); c0a = c0a.addingProduct(x, b0); if V.wide { c0b = c0b.addingProduct(x, b1) } }
            if R.count > 1 { let x = broadcastA(ap, 1, lda, V.packedA); c1a = c1a.addingProduct(x, b0); if V.wide { c1b = c1b.addingProduct(x, b1) } }
            if R.count > 2 { let x = broadcastA(ap, 2, lda, V.packedA); c2a = c2a.addingProduct(x, b0); if V.wide { c2b = c2b.addingProduct(x, b1) } }
            if R.count > 3 { let x = broadcastA(ap, 3, lda, V.packedA); c3a = c3a.addingProduct(x, b0); if V.wide { c3b = c3b.addingProduct(x, b1) } }
            if R.count > 4 { let x = broadcastA(ap, 4, lda, V.packedA); c4a = c4a.addingProduct(x, b0); if V.wide { c4b = c4b.addingProduct(x, b1) } }
            if R.count > 5 { let x = broadcastA(ap, 5, lda, V.packedA); c5a = c5a.addingProduct(x, b0); if V.wide { c5b = c5b.addingProduct(x, b1) } }
            if R.count > 6 { let x = broadcastA(ap, 6, lda, V.packedA); c6a = c6a.addingProduct(x, b0); if V.wide { c6b = c6b.addingProduct(x, b1) } }
            if R.count > 7 { let x = broadcastA(ap, 7, lda, V.packedA); c7a = c7a.addingProduct(x, b0); if V.wide { c7b = c7b.addingProduct(x, b1) } }
            if R.count > 8 { let x = broadcastA(ap, 8, lda, V.packedA); c8a = c8a.addingProduct(x, b0); if V.wide { c8b = c8b.addingProduct(x, b1) } }
            if R.count > 9 { let x = broadcastA(ap, 9, lda, V.packedA); c9a = c9a.addingProduct(x, b0); if V.wide { c9b = c9b.addingProduct(x, b1) } }
            if R.count > 10 { let x = broadcastA(ap, 10, lda, V.packedA); c10a = c10a.addingProduct(x, b0); if V.wide { c10b = c10b.addingProduct(x, b1) } }
            if R.count > 11 { let x = broadcastA(ap, 11, lda, V.packedA); c11a = c11a.addingProduct(x, b0); if V.wide { c11b = c11b.addingProduct(x, b1) } }
            ap += V.packedA ? packedRows : 1
            bp += ldb
        }
        storeRow(0, c0a, c0b, wide: V.wide, c: c, ldc: ldc, finish)
        if R.count > 1 { storeRow(1, c1a, c1b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 2 { storeRow(2, c2a, c2b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 3 { storeRow(3, c3a, c3b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 4 { storeRow(4, c4a, c4b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 5 { storeRow(5, c5a, c5b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 6 { storeRow(6, c6a, c6b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 7 { storeRow(7, c7a, c7b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 8 { storeRow(8, c8a, c8b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 9 { storeRow(9, c9a, c9b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 10 { storeRow(10, c10a, c10b, wide: V.wide, c: c, ldc: ldc, finish) }
        if R.count > 11 { storeRow(11, c11a, c11b, wide: V.wide, c: c, ldc: ldc, finish) }

    }

    /// Stores one finished tile row: plain scaling and `beta·C` inline, the epilogue (once per
    /// tile, on the last K slice) out of line to keep the micro-kernels small.
    @inline(__always)
    static func storeRow(_ r: Int, _ v0: Vector, _ v1: Vector, wide: Bool, c: UnsafeMutablePointer<Float>, ldc: Int,
                       _ f: TileFinish) {
        if f.applyEpilogue {
            finishRow(r, v0, v1, wide: wide, c: c, ldc: ldc, f)
            return
        }
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
        store(x0, row)
        if wide { store(x1, row + 16) }
    }

    @inline(__always)
    static func broadcastA(_ a: UnsafePointer<Float>, _ r: Int, _ lda: Int, _ packed: Bool) -> Vector {
        Vector(repeating: packed ? a[r] : a[r * lda])
    }

    /// Scales, adds `beta·C`, applies the epilogue and stores one tile row.
    @inline(never)
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
            if !f.activation.isNone {
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

    /// One row of A times `G.count` (2 or 4) consecutive 32-wide panels of one K slice (stored
    /// one after the other, `32·depth` floats apart), each column a single FMA chain as in
    /// ``microTile(_:_:k:a:lda:b:ldb:c:ldc:_:)``.
    @inline(never)
    static func gemvPanels<G: GemvGroup>(_: G.Type, depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, row: Int,
                                         column: Int, c: UnsafeMutablePointer<Float>, finish: inout TileFinish,
                                         epilogue: GemmEpilogue) {
        let z = Vector()
        var s0a = z, s0b = z, s1a = z, s1b = z, s2a = z, s2b = z, s3a = z, s3b = z
        let stride = 32 * depth
        var b0 = b, b1 = b + stride, b2 = b + 2 * stride, b3 = b + 3 * stride
        for p in 0..<depth {
            let x = Vector(repeating: a[p])
            s0a = s0a.addingProduct(x, load(b0)); s0b = s0b.addingProduct(x, load(b0 + 16))
            s1a = s1a.addingProduct(x, load(b1)); s1b = s1b.addingProduct(x, load(b1 + 16))
            if G.count > 2 {
                s2a = s2a.addingProduct(x, load(b2)); s2b = s2b.addingProduct(x, load(b2 + 16))
                s3a = s3a.addingProduct(x, load(b3)); s3b = s3b.addingProduct(x, load(b3 + 16))
            }
            b0 += 32; b1 += 32; b2 += 32; b3 += 32
        }
        finish.locate(row: row, column: column, epilogue: epilogue)
        storeRow(0, s0a, s0b, wide: true, c: c, ldc: 0, finish)
        finish.locate(row: row, column: column + 32, epilogue: epilogue)
        storeRow(0, s1a, s1b, wide: true, c: c + 32, ldc: 0, finish)
        guard G.count > 2 else { return }
        finish.locate(row: row, column: column + 64, epilogue: epilogue)
        storeRow(0, s2a, s2b, wide: true, c: c + 64, ldc: 0, finish)
        finish.locate(row: row, column: column + 96, epilogue: epilogue)
        storeRow(0, s3a, s3b, wide: true, c: c + 96, ldc: 0, finish)
    }

    /// Panels per ``gemvPanels(_:depth:a:b:row:column:c:finish:epilogue:)`` call, as a type so
    /// that it is a constant inside.
    protocol GemvGroup { static var count: Int { get } }
    enum GemvGroup2: GemvGroup { static var count: Int { 2 } }
    enum GemvGroup4: GemvGroup { static var count: Int { 4 } }

    /// Row count of a micro-kernel specialisation, as a type so that it is a constant inside.
    protocol TileRows { static var count: Int { get } }
    enum Rows1: TileRows { static var count: Int { 1 } }
    enum Rows2: TileRows { static var count: Int { 2 } }
    enum Rows3: TileRows { static var count: Int { 3 } }
    enum Rows4: TileRows { static var count: Int { 4 } }
    enum Rows5: TileRows { static var count: Int { 5 } }
    enum Rows6: TileRows { static var count: Int { 6 } }
    enum Rows7: TileRows { static var count: Int { 7 } }
    enum Rows8: TileRows { static var count: Int { 8 } }
    enum Rows9: TileRows { static var count: Int { 9 } }
    enum Rows10: TileRows { static var count: Int { 10 } }
    enum Rows11: TileRows { static var count: Int { 11 } }
    enum Rows12: TileRows { static var count: Int { 12 } }

    /// Tile width (32 or 16) and A layout (packed micro-panels or rows in place).
    protocol TileVariant {
        static var wide: Bool { get }
        static var packedA: Bool { get }
    }
    enum WidePacked: TileVariant { static var wide: Bool { true }; static var packedA: Bool { true } }
    enum Wide: TileVariant { static var wide: Bool { true }; static var packedA: Bool { false } }
    enum NarrowPacked: TileVariant { static var wide: Bool { false }; static var packedA: Bool { true } }
    enum Narrow: TileVariant { static var wide: Bool { false }; static var packedA: Bool { false } }
}
