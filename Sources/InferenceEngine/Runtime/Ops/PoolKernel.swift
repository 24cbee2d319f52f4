/// MaxPool and AveragePool over 1-D and 2-D inputs.
///
/// Rows of at least ``vectorMinimumWidth`` outputs: each plane is copied once into a
/// ``PhasePlane`` padded with -inf (max) or 0 (average), so every window tap of 16 adjacent
/// outputs is one contiguous vector load and the loops carry no bounds checks. Narrower rows
/// (where that copy would cost more than the windows) take 16 planes at a time, interleaved so
/// that one vector holds the same pixel of 16 planes, and loop over each window's valid taps
/// (ranges computed once per output row and column); a scalar loop over one window's taps
/// would be bound by the latency of its compare-and-select chain. Average divisors are
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
    /// Window taps (planes × outputs × kernel) from which interleaved pooling splits its plane
    /// groups over the intra-op pool.
    static let parallelThreshold = 1 << 16
    typealias Geometry = (oh: Int, ow: Int, pt: Int, pl: Int, pb: Int, pr: Int)

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        guard xs.count == window.spatialRank + 2 else { throw node.invalid("X \(xs.shapeDescription) has the wrong rank") }
        let n = xs[0], c = xs[1], h = window.spatialRank == 1 ? 1 : xs[2], wd = xs[xs.count - 1]
        let g = window.geometry(h: h, w: wd)
        let outShape = window.spatialRank == 1 ? [n, c, g.ow] : [n, c, g.oh, g.ow]
        let total = try node.checkedCount(outShape)
        if indices { return maxWithIndices(x, n: n, c: c, h: h, wd: wd, g: g, outShape: outShape, total: total) }
        let plane = PhasePlane(outputs: (g.oh, g.ow), kernel: window.kernel, stride: window.stride, dilation: window.dilation,
                               padTop: g.pt, padLeft: g.pl)
        if g.ow >= Self.vectorMinimumWidth {
            _ = try node.checkedCount([plane.rows, plane.phases, plane.width])   // absurd pads or dilations refuse, not allocate
        }
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in
                // h·w = 0 gives empty windows: -inf for max, 0 for average, as the scalar definition does.
                pool(px.baseAddress ?? UnsafePointer(py), planes: n * c, h: h, w: wd, g: g, plane: plane, into: py,
                     threads: node.context.pool)
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
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

    func pool(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, g: Geometry, plane: PhasePlane, into y: UnsafeMutablePointer<Float>,
              threads: IntraOpPool? = nil) {
        if g.ow < Self.vectorMinimumWidth { return poolNarrow(x, planes: planes, h: h, w: w, g: g, into: y, threads: threads) }
        let (kh, kw) = window.kernel
        let taps = kh * kw
        let rowStep = window.stride.h * plane.rowStride
        let rowCounts = isMax ? [] : divisorCounts(outputs: g.oh, size: h, kernel: kh, stride: window.stride.h, dilation: window.dilation.h,
                                                   padBegin: g.pt, padEnd: g.pb)
        // Column counts padded to whole vectors (the extra lanes are never stored).
        var columnCounts = isMax ? [] : divisorCounts(outputs: g.ow, size: w, kernel: kw, stride: window.stride.w, dilation: window.dilation.w,
                                                      padBegin: g.pl, padEnd: g.pr)
        columnCounts += [Float](repeating: 1, count: isMax ? 0 : 16)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: plane.count) { buffer in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: taps) { offsets in
            let padded = buffer.baseAddress!, offset = offsets.baseAddress!
            for ky in 0..<kh {
                for kx in 0..<kw { offset[ky * kw + kx] = plane.tapOffset(ky: ky, kx: kx, dilation: window.dilation) }
            }
            columnCounts.withUnsafeBufferPointer { cc in
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
                                var count = FastMath.load(cc.baseAddress! + ox) * rowCounts[oy]
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
        } }
    }
}

extension PoolKernel {
    /// Windows over the valid taps only, for narrow output rows.
    func poolNarrow(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, g: Geometry, into y: UnsafeMutablePointer<Float>,
                    threads: IntraOpPool? = nil) {
        let (dh, dw) = window.dilation
        if planes > 1 && h * w <= Self.interleavedPlaneLimit {
            return poolInterleaved(x, planes: planes, h: h, w: w, g: g, into: y, threads: threads)
        }
        // Per output row / column: first input index and the valid tap range.
        let (rows, columns, rowCounts, columnCounts) = windowTables(h: h, w: w, g: g)
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
                        let count = rowCounts[oy] * columnCounts[ox]
                        out[o] = countIncludePad ? sum / Swift.max(count, 1) : (count > 0 ? sum / count : 0)
                    }
                }
            }
        }
    }

    /// ``poolNarrow(_:planes:h:w:g:into:)`` 16 planes at a time: lane l of the vector at
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

    /// `t + 16·i` is pixel i of plane p0 + l.
    /// Groups of 16 planes split over `threads` when there are enough window taps.
    func poolInterleaved(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, g: Geometry, into y: UnsafeMutablePointer<Float>,
                         threads: IntraOpPool? = nil) {
        let (kh, kw) = window.kernel, (dh, dw) = window.dilation
        let pixels = h * w, outputs = g.oh * g.ow
        let (rows, columns, rowCounts, columnCounts) = windowTables(h: h, w: w, g: g)
        // Per output: first tap's offset in the interleaved plane, valid tap ranges, divisor.
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
                    // 0 marks an empty window under count_include_pad = 0 (its average is 0).
                    divisors[i] = countIncludePad ? Swift.max(count, 1) : count
                }
            }
        }
        let rowStep = dh &* w &* 16, tapStep = dw &* 16
        let groups = (planes + 15) / 16
        windows.withUnsafeBufferPointer { windowBuffer in divisors.withUnsafeBufferPointer { divisorBuffer in
            let table = windowBuffer.baseAddress!, divisor = divisorBuffer.baseAddress!
            let work = { (groupRange: Range<Int>) in
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
            IntraOpPool.forEachChunk(of: groups, on: threads, worthSplitting: planes * outputs * kh * kw >= Self.parallelThreshold, work)
        } }
    }

    func maxWithIndices(_ x: [Float], n: Int, c: Int, h: Int, wd: Int, g: Geometry, outShape: [Int], total: Int) -> [Tensor] {
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        var y = [Float](repeating: 0, count: total), where_ = [Int64](repeating: 0, count: total)
        for plane in 0..<(n * c) {
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
                    where_[o] = bestY < 0 ? 0 : Int64(plane * h * wd + inPlane)
                }
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y)), Tensor(shape: outShape, storage: .int64(where_))]
    }
}
