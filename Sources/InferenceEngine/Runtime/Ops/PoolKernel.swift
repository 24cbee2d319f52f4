/// MaxPool and AveragePool over 1-D and 2-D inputs.
///
/// Rows of at least ``vectorMinimumWidth`` outputs: each plane is copied once into a
/// ``PhasePlane`` padded with -inf (max) or 0 (average), so every window tap of 16 adjacent
/// outputs is one contiguous vector load and the loops carry no bounds checks. Narrower rows
/// (where that copy would cost more than the windows) take 16 planes at a time, interleaved so
/// that one vector holds the same pixel of 16 planes, and loop over each window's valid taps
/// (ranges computed once per output row and column); a scalar loop over one window's taps
/// would be bound by the latency of its compare-and-select chain. Short 1-D rows are
/// interleaved too (``interleavedRowLimit``). Average divisors are
/// separable: (taps counted along y) × (taps counted along x).
struct PoolKernel: NodeKernel {
    let window: Window2D
    let isMax: Bool
    let countIncludePad: Bool
    /// MaxPool's second output: the flat index of each maximum in X (row-major, or column-major
    /// within each image plane for storage_order=1), padding not counted.
    var indices = false
    var columnMajor = false

    typealias Vector = SIMD16<Float>
    /// Output rows narrower than this are computed across planes.
    static let vectorMinimumWidth = 8
    /// Largest plane (h·w) interleaved 16 at a time for narrow rows; larger ones loop per plane.
    static let interleavedPlaneLimit = 4096
    /// 1-D rows up to this long are interleaved even when their outputs fill vectors: a 1-D
    /// plane is one row, so the wide path's padded copy and loop set-up are paid per row
    /// (cnn1d at batch 64: 512 rows of 32 → 16 max-pooled in 18 µs wide, against ~4 µs
    /// interleaved, transposes included).
    static let interleavedRowLimit = 128
    /// Window taps (planes × outputs × kernel) from which interleaved pooling splits its plane
    /// groups over the intra-op pool.
    static let parallelThreshold = 1 << 16
    typealias Geometry = (oh: Int, ow: Int, pt: Int, pl: Int, pb: Int, pr: Int)

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let setup = try Setup(self, x: xs, node)
        let total = setup.total
        var indexValues: [Int64] = indices ? [Int64](repeating: 0, count: total) : []
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in indexValues.withUnsafeMutableBufferPointer { pi in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(1, setup.scratchFloats)) { scratch in
                    // h·w = 0 gives empty windows: -inf for max, 0 for average, as the scalar definition does.
                    setup.run(px.baseAddress ?? UnsafePointer(py), y: py, indices: pi.baseAddress, scratch: scratch.baseAddress!,
                              threads: node.context.pool)
                }
            } }
        }
        let output = Tensor(shape: setup.outShape, storage: .float32(y))
        return indices ? [output, Tensor(shape: setup.outShape, storage: .int64(indexValues))] : [output]
    }

    /// Taps of each window along one axis that count for the average: inside the data, or
    /// (`countIncludePad`) inside the padded extent, as onnxruntime counts them.
    func divisorCounts(outputs: Int, size: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int, padEnd: Int) -> [Float] {
        (0..<outputs).map { o in
            let start = o * stride - padBegin
            if countIncludePad {
                let end = Swift.min(start + (kernel - 1) * dilation + 1, size + padEnd)
                return Float(dilation == 1 ? end - start : (end - start + dilation - 1) / dilation)
            }
            let (lo, hi) = PhasePlane.validRange(offset: start, stride: dilation, count: kernel, size: size)
            return Float(hi - lo)
        }
    }

    /// Rows of at least ``vectorMinimumWidth`` outputs, one ``PhasePlane`` (in `padded`) per plane.
    ///
    /// - Parameters:
    ///   - offsets: each tap's offset in the plane; `rowCounts`, `columnCounts`: the average's
    ///     (nil for max pooling) per-axis divisor counts (``divisorCounts(outputs:size:kernel:stride:dilation:padBegin:padEnd:)``),
    ///     the column counts followed by 16 ones so that every vector load stays inside.
    func poolWide(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, g: Geometry, plane: PhasePlane, into y: UnsafeMutablePointer<Float>,
                  offsets offset: UnsafePointer<Int>, rowCounts: UnsafePointer<Float>?, columnCounts cc: UnsafePointer<Float>?,
                  padded: UnsafeMutablePointer<Float>) {
        let taps = window.kernel.h * window.kernel.w
        let rowStep = window.stride.h * plane.rowStride
        for p in 0..<planes {
            plane.fill(padded, from: x + p * h * w, h: h, w: w, padding: isMax ? -.infinity : 0)
            let out = y + p * g.oh * g.ow
            for oy in 0..<g.oh {
                let row = padded + oy * rowStep
                let line = out + oy * g.ow
                var ox = 0
                while ox < g.ow {
                    let origin = row + ox
                    var v: Vector
                    if isMax {
                        v = Vector(repeating: -.infinity)
                        for t in 0..<taps {
                            // NaN wins and then stays, like the scalar `v > best || v.isNaN`.
                            let tap = FastMath.load(origin + offset[t])
                            v.replace(with: tap, where: (tap .> v) .| (tap .!= tap))
                        }
                    } else {
                        var sum = Vector(repeating: 0)
                        for t in 0..<taps { sum += FastMath.load(origin + offset[t]) }
                        var count = FastMath.load(cc! + ox) * rowCounts![oy]
                        if countIncludePad {
                            count.replace(with: 1, where: count .< 1)
                            v = sum / count
                        } else {
                            v = (sum / count).replacing(with: 0, where: count .== 0)
                        }
                    }
                    let lanes = Swift.min(16, g.ow - ox)
                    if lanes == 16 { FastMath.store(v, line + ox) } else { FastMath.store(v, line + ox, count: lanes) }
                    ox += 16
                }
            }
        }
    }
}

extension PoolKernel {
    /// Windows over the valid taps only, for narrow output rows of planes too large to
    /// interleave; `rows`, `columns` and the counts are ``windowTables(h:w:g:)``'s.
    func poolPerPlane(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, g: Geometry, into y: UnsafeMutablePointer<Float>,
                      rows: UnsafePointer<(Int, Int, Int)>, columns: UnsafePointer<(Int, Int, Int)>,
                      rowCounts: UnsafePointer<Float>?, columnCounts: UnsafePointer<Float>?) {
        let (dh, dw) = window.dilation
        for p in 0..<planes {
            let src = x + p * h * w, out = y + p * g.oh * g.ow
            for oy in 0..<g.oh {
                let (y0, kyLo, kyHi) = rows[oy]
                for ox in 0..<g.ow {
                    let (x0, kxLo, kxHi) = columns[ox]
                    let o = oy * g.ow + ox
                    if isMax {
                        var best = -Float.infinity
                        var ky = kyLo
                        while ky < kyHi {
                            let line = src + ((y0 &+ ky &* dh) &* w &+ x0)
                            var kx = kxLo
                            while kx < kxHi {
                                // A select, not a branch: which tap wins is data-dependent. NaN wins and stays.
                                let v = line[kx &* dw]
                                best = v > best || v != v ? v : best
                                kx &+= 1
                            }
                            ky &+= 1
                        }
                        out[o] = best
                    } else {
                        var sum: Float = 0
                        var ky = kyLo
                        while ky < kyHi {
                            let line = src + ((y0 &+ ky &* dh) &* w &+ x0)
                            var kx = kxLo
                            while kx < kxHi { sum += line[kx &* dw]; kx &+= 1 }
                            ky &+= 1
                        }
                        let count = rowCounts![oy] * columnCounts![ox]
                        out[o] = countIncludePad ? sum / Swift.max(count, 1) : (count > 0 ? sum / count : 0)
                    }
                }
            }
        }
    }

    /// Per output row and column: the first input index and the valid tap range; and, for
    /// average pooling, the per-axis counts its divisor is built from (empty for max pooling).
    func windowTables(h: Int, w: Int, g: Geometry)
        -> (rows: [(Int, Int, Int)], columns: [(Int, Int, Int)], rowCounts: [Float], columnCounts: [Float]) {
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        let rows = (0..<g.oh).map { oy in
            let start = oy * sh - g.pt
            let (lo, hi) = PhasePlane.validRange(offset: start, stride: dh, count: kh, size: h)
            return (start, lo, hi)
        }
        let columns = (0..<g.ow).map { ox in
            let start = ox * sw - g.pl
            let (lo, hi) = PhasePlane.validRange(offset: start, stride: dw, count: kw, size: w)
            return (start, lo, hi)
        }
        let rowCounts = isMax ? [] : divisorCounts(outputs: g.oh, size: h, kernel: kh, stride: sh, dilation: dh, padBegin: g.pt, padEnd: g.pb)
        let columnCounts = isMax ? [] : divisorCounts(outputs: g.ow, size: w, kernel: kw, stride: sw, dilation: dw, padBegin: g.pl, padEnd: g.pr)
        return (rows, columns, rowCounts, columnCounts)
    }

    /// The interleaved path's per-output table: the first tap's offset in the interleaved
    /// plane and the valid tap ranges (5 integers per output), and each output's divisor (0
    /// marks an empty window under count_include_pad = 0, whose average is 0).
    func interleavedWindows(h: Int, w: Int, g: Geometry) -> (windows: [Int], divisors: [Float]) {
        let outputs = g.oh * g.ow
        let (rows, columns, rowCounts, columnCounts) = windowTables(h: h, w: w, g: g)
        var windows = [Int](repeating: 0, count: 5 * outputs)
        var divisors = [Float](repeating: 1, count: outputs)
        for oy in 0..<g.oh {
            for ox in 0..<g.ow {
                let (y0, kyLo, kyHi) = rows[oy], (x0, kxLo, kxHi) = columns[ox]
                let i = oy * g.ow + ox
                windows[5 * i] = y0 * w + x0
                windows[5 * i + 1] = kyLo; windows[5 * i + 2] = kyHi; windows[5 * i + 3] = kxLo; windows[5 * i + 4] = kxHi
                if !isMax {
                    let count = rowCounts[oy] * columnCounts[ox]
                    divisors[i] = countIncludePad ? Swift.max(count, 1) : count
                }
            }
        }
        return (windows, divisors)
    }

    /// Narrow rows 16 planes at a time: lane l of the vector at `t + 16·i` is pixel i of plane
    /// p0 + l. Groups of 16 planes split over `threads` when there are enough window taps.
    /// `table` and `divisor` are ``interleavedWindows(h:w:g:)``'s.
    func poolInterleaved(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, g: Geometry, into y: UnsafeMutablePointer<Float>,
                         windows table: UnsafePointer<Int>, divisors divisor: UnsafePointer<Float>, threads: IntraOpPool? = nil) {
        let (kh, kw) = window.kernel, (dh, dw) = window.dilation
        let pixels = h * w, outputs = g.oh * g.ow
        let rowStep = dh &* w &* 16, tapStep = dw &* 16
        let groups = (planes + 15) / 16
        IntraOpPool.forEachChunk(of: groups, on: threads, worthSplitting: planes * outputs * kh * kw >= Self.parallelThreshold) { groupRange in
            let t = ThreadScratch.window.buffer(count: 16 * (pixels + outputs)), o = t + 16 * pixels
            var p0 = groupRange.lowerBound * 16
            while p0 < Swift.min(planes, groupRange.upperBound * 16) {
                let lanes = Swift.min(16, planes - p0)
                VectorBlocks.interleave(x + p0 * pixels, planes: lanes, pixels: pixels, into: t)
                for i in 0..<outputs {
                    let e = table + 5 &* i
                    let origin = t + e[0] &* 16
                    let kyLo = e[1], kyHi = e[2], kxLo = e[3], kxHi = e[4]
                    var v: Vector
                    if isMax {
                        v = Vector(repeating: -.infinity)
                        var ky = kyLo
                        while ky < kyHi {
                            let line = origin + ky &* rowStep
                            var kx = kxLo
                            while kx < kxHi {
                                // NaN wins and then stays, like the scalar `v > best || v.isNaN`.
                                let tap = FastMath.load(line + kx &* tapStep)
                                v.replace(with: tap, where: (tap .> v) .| (tap .!= tap))
                                kx &+= 1
                            }
                            ky &+= 1
                        }
                    } else {
                        v = Vector(repeating: 0)
                        var ky = kyLo
                        while ky < kyHi {
                            let line = origin + ky &* rowStep
                            var kx = kxLo
                            while kx < kxHi { v += FastMath.load(line + kx &* tapStep); kx &+= 1 }
                            ky &+= 1
                        }
                        let count = divisor[i]
                        v = count > 0 ? v / count : Vector(repeating: 0)
                    }
                    FastMath.store(v, o + i &* 16)
                }
                VectorBlocks.deinterleave(o, planes: lanes, pixels: outputs, into: y + p0 * outputs)
                p0 += 16
            }
        }
    }

    /// MaxPool with its Indices output (nil when unused): scalar, first maximum wins.
    func maxWithIndices(_ x: UnsafePointer<Float>, planes: Int, h: Int, w wd: Int, g: Geometry, into y: UnsafeMutablePointer<Float>,
                        indices where_: UnsafeMutablePointer<Int64>?) {
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        for plane in 0..<planes {
            for oy in 0..<g.oh {
                let y0 = oy * sh - g.pt
                for ox in 0..<g.ow {
                    let x0 = ox * sw - g.pl
                    var best = -Float.infinity, bestY = -1, bestX = -1
                    for ky in 0..<kh {
                        let iy = y0 + ky * dh
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kw {
                            let ix = x0 + kx * dw
                            if ix < 0 || ix >= wd { continue }
                            let v = x[(plane * h + iy) * wd + ix]
                            if bestY < 0 || v > best { best = v; bestY = iy; bestX = ix }
                        }
                    }
                    let o = (plane * g.oh + oy) * g.ow + ox
                    y[o] = best
                    let inPlane = columnMajor ? bestX * h + bestY : bestY * wd + bestX
                    where_?[o] = bestY < 0 ? 0 : Int64(plane * h * wd + inPlane)
                }
            }
        }
    }
}
