extension PoolKernel {
    /// Everything a pooling run needs that depends only on X's shape: the geometry, the path
    /// and its window tables and divisor counts.
    ///
    /// The general executor makes one per run; a ``ShapePlan`` makes one when it binds the node
    /// (``BoundPoolKernel``). Both then call ``run(_:y:indices:scratch:threads:)``, the one
    /// implementation of the arithmetic.
    struct Setup: Sendable {
        enum Path: Sendable {
            case empty
            /// MaxPool with the Indices output: the scalar loop that tracks where each maximum is.
            case indices
            /// Rows of at least ``PoolKernel/vectorMinimumWidth`` outputs, through a ``PhasePlane``.
            case wide
            /// Narrow rows (and short 1-D rows), 16 planes at a time.
            case interleaved
            /// Narrow rows of planes too large to interleave.
            case perPlane
        }

        let kernel: PoolKernel
        let planes: Int, h: Int, w: Int
        let g: Geometry
        let plane: PhasePlane
        let path: Path
        let outShape: [Int]
        let total: Int
        /// Wide: each tap's offset in the plane.
        let offsets: [Int]
        /// Wide and per-plane, average only: the divisor counts per output row and column (the
        /// wide path's column counts followed by 16 ones, so vector loads stay inside).
        let rowCounts: [Float], columnCounts: [Float]
        /// Per-plane: ``windowTables(h:w:g:)``'s rows and columns.
        let rows: [(Int, Int, Int)], columns: [(Int, Int, Int)]
        /// Interleaved: ``interleavedWindows(h:w:g:)``.
        let windows: [Int], divisors: [Float]
        /// Floats of scratch memory the run needs (the wide path's padded plane).
        let scratchFloats: Int

        init(_ kernel: PoolKernel, x xs: [Int], _ node: NodeExecutor) throws(InferenceError) {
            let window = kernel.window
            guard xs.count == window.spatialRank + 2 else { throw node.invalid("X \(xs.shapeDescription) has the wrong rank") }
            let n = xs[0], c = xs[1]
            h = window.spatialRank == 1 ? 1 : xs[2]
            w = xs[xs.count - 1]
            planes = n * c
            g = window.geometry(h: h, w: w)
            outShape = window.spatialRank == 1 ? [n, c, g.ow] : [n, c, g.oh, g.ow]
            total = try node.checkedCount(outShape)
            plane = PhasePlane(outputs: (g.oh, g.ow), kernel: window.kernel, stride: window.stride, dilation: window.dilation,
                               padTop: g.pt, padLeft: g.pl)
            self.kernel = kernel
            var offsets: [Int] = [], rowCounts: [Float] = [], columnCounts: [Float] = []
            var rows: [(Int, Int, Int)] = [], columns: [(Int, Int, Int)] = [], windows: [Int] = [], divisors: [Float] = []
            var scratch = 0
            if total == 0 {
                path = .empty
            } else if kernel.indices {
                path = .indices
            } else if g.ow >= PoolKernel.vectorMinimumWidth && !(h == 1 && planes > 1 && w <= PoolKernel.interleavedRowLimit) {
                _ = try node.checkedCount([plane.rows, plane.phases, plane.width])   // absurd pads or dilations refuse, not allocate
                path = .wide
                let (kh, kw) = window.kernel
                offsets = [Int](repeating: 0, count: kh * kw)
                for ky in 0..<kh {
                    for kx in 0..<kw { offsets[ky * kw + kx] = plane.tapOffset(ky: ky, kx: kx, dilation: window.dilation) }
                }
                if !kernel.isMax {
                    rowCounts = kernel.divisorCounts(outputs: g.oh, size: h, kernel: kh, stride: window.stride.h, dilation: window.dilation.h,
                                                     padBegin: g.pt, padEnd: g.pb)
                    columnCounts = kernel.divisorCounts(outputs: g.ow, size: w, kernel: kw, stride: window.stride.w,
                                                        dilation: window.dilation.w, padBegin: g.pl, padEnd: g.pr)
                    columnCounts += [Float](repeating: 1, count: 16)
                }
                scratch = plane.count
            } else if planes > 1 && h * w <= PoolKernel.interleavedPlaneLimit {
                path = .interleaved
                (windows, divisors) = kernel.interleavedWindows(h: h, w: w, g: g)
            } else {
                path = .perPlane
                (rows, columns, rowCounts, columnCounts) = kernel.windowTables(h: h, w: w, g: g)
            }
            self.offsets = offsets
            self.rowCounts = rowCounts
            self.columnCounts = columnCounts
            self.rows = rows
            self.columns = columns
            self.windows = windows
            self.divisors = divisors
            scratchFloats = scratch
        }

        /// Computes Y (``total`` floats at `y`) and, for MaxPool with Indices, the indices
        /// (nil when unused).
        ///
        /// - Parameter scratch: ``scratchFloats`` floats (nil when that is 0).
        func run(_ x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int64>?,
                 scratch: UnsafeMutablePointer<Float>?, threads: IntraOpPool?) {
            switch path {
            case .empty:
                return
            case .indices:
                kernel.maxWithIndices(x, planes: planes, h: h, w: w, g: g, into: y, indices: indices)
            case .wide:
                offsets.withUnsafeBufferPointer { offsets in rowCounts.withUnsafeBufferPointer { rc in columnCounts.withUnsafeBufferPointer { cc in
                    kernel.poolWide(x, planes: planes, h: h, w: w, g: g, plane: plane, into: y, offsets: offsets.baseAddress!,
                                    rowCounts: rc.baseAddress, columnCounts: cc.baseAddress, padded: scratch!)
                } } }
            case .interleaved:
                windows.withUnsafeBufferPointer { windows in divisors.withUnsafeBufferPointer { divisors in
                    kernel.poolInterleaved(x, planes: planes, h: h, w: w, g: g, into: y, windows: windows.baseAddress!,
                                           divisors: divisors.baseAddress!, threads: threads)
                } }
            case .perPlane:
                rows.withUnsafeBufferPointer { rows in columns.withUnsafeBufferPointer { columns in
                    rowCounts.withUnsafeBufferPointer { rc in columnCounts.withUnsafeBufferPointer { cc in
                        kernel.poolPerPlane(x, planes: planes, h: h, w: w, g: g, into: y, rows: rows.baseAddress!, columns: columns.baseAddress!,
                                            rowCounts: rc.baseAddress, columnCounts: cc.baseAddress)
                    } }
                } }
            }
        }
    }
}
