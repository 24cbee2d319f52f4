/// Single-precision GEMM: `C[m×n] = act(alpha·A[m×k]·B[k×n] + beta·C (+ bias) (+ residual))`,
/// row-major with leading dimensions.
///
/// The structure is the classic one (GotoBLAS/BLIS, MLAS): B is packed into 32-column panels,
/// K-sliced so that one slice panel (``sliceDepth`` × 32 floats) stays in L1 while every row tile
/// of A streams past it; large-M A blocks are packed into 12-row micro-panels so that the
/// broadcasts read consecutive addresses; a 12×32 register tile of `SIMD16<Float>` FMAs does the
/// work (24 accumulators + 2 B vectors + 1 broadcast of the 32 zmm registers), run as 6×16
/// sub-tiles where the CPU has only AVX2's 16 ymm registers (``RegisterTiling``). The epilogue
/// (``GemmEpilogue``) is applied to the tile while it is still in registers on the last K
/// slice, so C is written once. M = 1 takes a GEMV path that reads each packed panel once with
/// independent accumulators. Large problems split over an ``IntraOpPool``.
enum GemmKernel {
    typealias Vector = SIMD16<Float>

    /// Rows of A per micro-tile.
    static let rowTile = 12
    /// Rows of B per K slice: a 128 × 32 slice panel is 16 KiB, half of Zen 4's 32 KiB L1d.
    static let sliceDepth = 128
    /// Rows of A packed at once: 144 × 128 floats = 72 KiB, well inside a 1 MiB L2.
    static let rowBlock = 144
    /// Below this many multiply-adds a GEMM runs on the calling thread: waking a blocked worker
    /// costs tens of microseconds, about what 2 M multiply-adds take on one core.
    static let parallelThreshold = 1 << 21
    /// A GEMV reading fewer floats of B than this runs on the calling thread.
    static let parallelGemvThreshold = 1 << 18

    // MARK: Panels

    /// Number of column panels for `n` columns: 32-wide ones, then a 16-wide one if at least 16
    /// columns remain, then a zero-padded 16-wide one for what is left.
    @inline(__always)
    static func panelCount(n: Int) -> Int {
        let rest = n & 31
        return n >> 5 + (rest >= 16 ? 1 : 0) + (rest & 15 != 0 ? 1 : 0)
    }

    @inline(__always)
    static func panelStart(_ p: Int, n: Int) -> Int {
        let full = n >> 5
        return p <= full ? p << 5 : (full << 5) + ((p - full) << 4)
    }

    @inline(__always)
    static func panelWidth(_ p: Int, n: Int) -> Int { p < n >> 5 ? 32 : 16 }

    // MARK: Entry points

    /// `C = act(alpha·A·B + beta·C (+ bias) (+ residual))` with B packed.
    ///
    /// `beta = 0` overwrites C without reading it (C may be uninitialised memory).
    static func multiply(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: PackedMatrix,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: GemmEpilogue = GemmEpilogue(), pool: IntraOpPool? = nil, tiling: RegisterTiling = .native
    ) {
        precondition(b.rows == k && b.columns == n, "packed B is \(b.rows)×\(b.columns), expected \(k)×\(n)")
        withExtendedLifetime(b) {
            run(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: PanelSource(packed: b.panels), beta: beta, c: c, ldc: ldc,
                epilogue: epilogue, pool: pool, tiling: tiling)
        }
    }

    /// `C += alpha·A·B` with B read in place (row-major, `ldb` apart): the entry point for
    /// operators whose B changes per call (convolution's im2col, recurrent state).
    ///
    /// With enough rows of A to amortise it, B is packed first; otherwise the micro-kernels read
    /// B's rows directly (only the last `n % 16` columns are copied, so no vector load runs past
    /// B). Either copy goes to `workspace` (``workspaceFloats(m:n:k:)`` floats) when given.
    static func multiplyAccumulate(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        beta: Float = 1, epilogue: GemmEpilogue = GemmEpilogue(), pool: IntraOpPool? = nil,
        workspace: UnsafeMutablePointer<Float>? = nil, tiling: RegisterTiling = .native
    ) {
        guard m > 0, n > 0 else { return }
        let needed = workspaceFloats(m: m, n: n, k: k)
        guard needed > 0 else {
            let source = PanelSource(strided: b, ldb: ldb, k: k, n: n, tail: nil)
            run(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: source, beta: beta, c: c, ldc: ldc, epilogue: epilogue, pool: pool,
                tiling: tiling)
            return
        }
        // Planned runs lend their scratch space; other callers get a temporary.
        let owned = workspace == nil ? UnsafeMutablePointer<Float>.allocate(capacity: needed) : nil
        defer { owned?.deallocate() }
        let space = workspace ?? owned!
        if packsB(m: m, n: n, k: k) {
            let panels = PackedPanels(storage: space, rows: k, columns: n)
            panels.pack(from: b, ldb: ldb, transposed: false)
            run(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: PanelSource(packed: panels), beta: beta, c: c, ldc: ldc,
                epilogue: epilogue, pool: pool, tiling: tiling)
            return
        }
        // Only a ragged last panel needs the copy (k × 16 floats), so only it pays for one.
        let tailColumns = n & 15
        let tailStart = n - tailColumns
        for p in 0..<k {
            let row = space + p * 16
            row.update(from: b + p * ldb + tailStart, count: tailColumns)
            (row + tailColumns).update(repeating: 0, count: 16 - tailColumns)
        }
        let source = PanelSource(strided: b, ldb: ldb, k: k, n: n, tail: UnsafePointer(space))
        run(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: source, beta: beta, c: c, ldc: ldc, epilogue: epilogue, pool: pool,
            tiling: tiling)
    }

    /// Each B element is reused by m rows; packing costs one read and one write of it.
    @inline(__always)
    static func packsB(m: Int, n: Int, k: Int) -> Bool { m > 2 * rowTile && n > 32 && k > 0 }

    /// Floats of `workspace` that ``multiplyAccumulate(m:n:k:alpha:a:lda:b:ldb:c:ldc:beta:epilogue:pool:workspace:)``
    /// uses for these sizes (0 when it needs none).
    static func workspaceFloats(m: Int, n: Int, k: Int) -> Int {
        guard m > 0, n > 0 else { return 0 }
        if packsB(m: m, n: n, k: k) { return PackedPanels.floatCount(rows: k, columns: n) }
        return n & 15 != 0 ? max(1, k * 16) : 0
    }

    // MARK: Driver

    /// Where the micro-kernel finds each K slice of each column panel of B.
    struct PanelSource {
        var packed: PackedPanels?
        var base: UnsafePointer<Float>?
        var ldb: Int
        var tail: UnsafePointer<Float>?
        var k: Int
        var n: Int
        var depth: Int

        init(packed: PackedPanels) {
            self.packed = packed
            ldb = 0
            k = packed.rows
            n = packed.columns
            depth = packed.sliceDepth
        }

        init(strided b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, tail: UnsafePointer<Float>?) {
            base = b
            self.ldb = ldb
            self.tail = tail
            self.k = k
            self.n = n
            depth = GemmKernel.sliceDepth
        }

        var sliceCount: Int { max(1, (k + depth - 1) / depth) }

        /// Panel `p` of the slice starting at row `k0`: first element and row stride.
        @inline(__always)
        func panel(_ p: Int, slice s: Int) -> (UnsafePointer<Float>, Int) {
            let width = GemmKernel.panelWidth(p, n: n)
            if let packed { return (packed.panel(slice: s, panel: p), width) }
            let j0 = GemmKernel.panelStart(p, n: n), k0 = s * depth
            if j0 + width > n { return (tail! + k0 * 16, 16) }
            return (base! + k0 * ldb + j0, ldb)
        }
    }

    static func run(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, b: PanelSource,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue, pool: IntraOpPool?,
                    tiling: RegisterTiling) {
        guard m > 0, n > 0 else { return }
        let panels = panelCount(n: n)
        let problem = Problem(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, beta: beta, c: c, ldc: ldc, epilogue: epilogue,
                              tiling: tiling)
        let threads = pool?.threadCount ?? 1
        let large = m == 1 ? k * n >= parallelGemvThreshold : m * n * k >= parallelThreshold
        guard threads > 1, large, let pool else {
            problem.region(rows: 0..<m, panels: 0..<panels)
            return
        }
        // Split rows when there are enough row tiles for every thread (each then reads all of B
        // once, and packs only its own A); otherwise split the column panels.
        let rowTiles = (m + rowTile - 1) / rowTile
        if rowTiles >= 2 * threads {
            let tilesPerTask = (rowTiles + threads - 1) / threads
            let tasks = (rowTiles + tilesPerTask - 1) / tilesPerTask
            pool.parallelFor(tasks) { t in
                let i0 = t * tilesPerTask * rowTile
                problem.region(rows: i0..<min(m, i0 + tilesPerTask * rowTile), panels: 0..<panels)
            }
        } else {
            let perTask = (panels + threads - 1) / threads
            let tasks = (panels + perTask - 1) / perTask
            pool.parallelFor(tasks) { t in
                problem.region(rows: 0..<m, panels: (t * perTask)..<min(panels, (t + 1) * perTask))
            }
        }
    }

    /// One GEMM call's operands; `region` computes a rectangle of C (all of K) on one thread.
    struct Problem {
        var m: Int, n: Int, k: Int, alpha: Float
        var a: UnsafePointer<Float>, lda: Int
        var b: PanelSource
        var beta: Float
        var c: UnsafeMutablePointer<Float>, ldc: Int
        var epilogue: GemmEpilogue
        var tiling: RegisterTiling

        func region(rows: Range<Int>, panels: Range<Int>) {
            if rows.count == 1 && b.packed != nil {
                gemvRegion(row: rows.lowerBound, panels: panels)
                return
            }
            // Each A element is read once per column panel: packing pays when there are several,
            // and keeps 12 rows `lda` apart (4 KiB for k = 1024) from aliasing in L1.
            let packA = rows.count > rowTile && panels.count > 1
            let slices = b.sliceCount
            let buffer = ThreadScratch.gemm.buffer(count: EdgeTile.capacity + (packA ? rowBlock * b.depth : 0))
            let edge = EdgeTile(buffer: buffer)
            let scratch = packA ? buffer + EdgeTile.capacity : nil
            for s in 0..<slices {
                let k0 = s * b.depth, depth = max(0, min(b.depth, k - k0))
                var finish = TileFinish(alpha: alpha, beta: s == 0 ? beta : 1, epilogue: s == slices - 1 ? epilogue : nil)
                var i0 = rows.lowerBound
                while i0 < rows.upperBound {
                    let i1 = min(i0 + rowBlock, rows.upperBound)
                    if let scratch { GemmKernel.packA(rows: i1 - i0, depth: depth, a: a + i0 * lda + k0, lda: lda, into: scratch) }
                    for p in panels {
                        let (bPanel, ldb) = b.panel(p, slice: s)
                        let j0 = panelStart(p, n: n), width = panelWidth(p, n: n)
                        let valid = min(width, n - j0)
                        var i = i0
                        while i < i1 {
                            let tileRows = min(rowTile, i1 - i)
                            let aTile = scratch.map { UnsafePointer($0 + (i - i0) * depth) } ?? a + i * lda + k0
                            finish.locate(row: i, column: j0, epilogue: epilogue)
                            let cTile = c + i * ldc + j0
                            if valid == width {
                                tile(rows: tileRows, wide: width == 32, packedA: scratch != nil, tiling: tiling, k: depth, a: aTile, lda: lda,
                                     b: bPanel, ldb: ldb, c: cTile, ldc: ldc, finish)
                            } else {
                                edge.run(rows: tileRows, columns: valid, c: cTile, ldc: ldc, finish: finish) { c, ldc, finish in
                                    tile(rows: tileRows, wide: width == 32, packedA: scratch != nil, tiling: tiling, k: depth, a: aTile, lda: lda,
                                         b: bPanel, ldb: ldb, c: c, ldc: ldc, finish)
                                }
                            }
                            i += tileRows
                        }
                    }
                    i0 = i1
                }
            }
        }

        /// M = 1 over packed B. Four (AVX2: two) 32-wide panels run side by side (eight
        /// independent FMA chains, so loads rather than FMA latency set the pace); every output element still
        /// sees exactly the operations of the tile path (one chain per K slice, combined with C
        /// after each slice), so a row's result does not depend on how many rows came with it.
        func gemvRegion(row: Int, panels: Range<Int>) {
            guard let packed = b.packed else { return }
            let edge = EdgeTile(buffer: ThreadScratch.gemm.buffer(count: EdgeTile.capacity))
            let aRow = a + row * lda
            let fullPanels = min(panels.upperBound, n >> 5)
            let slices = packed.sliceCount
            for s in 0..<slices {
                let (k0, depth) = packed.slice(s)
                var finish = TileFinish(alpha: alpha, beta: s == 0 ? beta : 1, epilogue: s == slices - 1 ? epilogue : nil)
                var p = panels.lowerBound
                // Eight independent FMA chains: four 32-wide panels of zmm registers, two of ymm pairs.
                let group = tiling == .wide ? 4 : 2
                while p + group <= fullPanels {
                    let (bPanels, cRow) = (packed.panel(slice: s, panel: p), c + row * ldc + (p << 5))
                    if group == 4 {
                        gemvPanels(GemvGroup4.self, depth: max(0, depth), a: aRow + k0, b: bPanels, row: row, column: p << 5, c: cRow,
                                   finish: &finish, epilogue: epilogue)
                    } else {
                        gemvPanels(GemvGroup2.self, depth: max(0, depth), a: aRow + k0, b: bPanels, row: row, column: p << 5, c: cRow,
                                   finish: &finish, epilogue: epilogue)
                    }
                    p += group
                }
                while p < panels.upperBound {
                    let j0 = panelStart(p, n: n), width = panelWidth(p, n: n)
                    let valid = min(width, n - j0)
                    let bPanel = packed.panel(slice: s, panel: p)
                    finish.locate(row: row, column: j0, epilogue: epilogue)
                    let cRow = c + row * ldc + j0
                    if valid == width {
                        tile(rows: 1, wide: width == 32, packedA: false, tiling: tiling, k: max(0, depth), a: aRow + k0, lda: lda, b: bPanel,
                             ldb: width, c: cRow, ldc: ldc, finish)
                    } else {
                        edge.run(rows: 1, columns: valid, c: cRow, ldc: ldc, finish: finish) { c, ldc, finish in
                            tile(rows: 1, wide: width == 32, packedA: false, tiling: tiling, k: max(0, depth), a: aRow + k0, lda: lda, b: bPanel,
                                 ldb: width, c: c, ldc: ldc, finish)
                        }
                    }
                    p += 1
                }
            }
        }
    }

    /// Packs `rows × depth` of A into 12-row micro-panels (`[p][r]`, ``rowTile`` floats per p),
    /// the last one holding only the remaining rows.
    static func packA(rows: Int, depth: Int, a: UnsafePointer<Float>, lda: Int, into dst: UnsafeMutablePointer<Float>) {
        var i = 0
        while i < rows {
            let tileRows = min(rowTile, rows - i)
            let panel = dst + i * depth
            for r in 0..<tileRows {
                let src = a + (i + r) * lda
                var d = panel + r
                for p in 0..<depth {
                    d.pointee = src[p]
                    d += rowTile
                }
            }
            i += tileRows
        }
    }

    // MARK: Helpers

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
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

    /// Transposes a whole row-major matrix held in an array.
    static func transposed(_ values: [Float], rows: Int, cols: Int) -> [Float] {
        [Float](uninitializedCount: rows * cols) { buffer, initialized in
            values.withUnsafeBufferPointer { src in
                if rows * cols > 0 { transpose(rows: rows, cols: cols, src: src.baseAddress!, dst: buffer.baseAddress!) }
            }
            initialized = rows * cols
        }
    }
}
