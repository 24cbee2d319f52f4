/// Conv over 1-D and 2-D inputs (NCW / NCHW), with an optional fused epilogue, choosing the
/// algorithm per shape:
///
/// - one input channel per group (depthwise, any depth multiplier): a direct loop over a
///   padded, stride-phase-split copy of each plane (``PhasePlane``), 16 outputs per vector;
///   im2col + a one-row GEMM would spend its time packing.
/// - 1×1, stride 1, no padding, large planes: one GEMM per image and group straight on the
///   input (it already is the im2col matrix).
/// - everything else: im2col + GEMM. Small planes put every image's columns side by side in one
///   im2col matrix and run one GEMM for the whole batch (a 16-pixel plane alone would leave the
///   GEMM's 32-column tiles mostly empty).
///
/// The epilogue (bias, then ``activation`` and ``residual`` like ``GemmEpilogue``) is applied to
/// each output row or vector right after it is computed, while it is still in cache.
///
/// The choice and the tables it needs are made by ``Setup`` from the shapes alone: per run on
/// the general executor, once per plan when bound (``BoundConvKernel``).
struct ConvKernel: NodeKernel {
    let window: Window2D
    let group: Int
    /// Fused activation, applied after the bias (and after the residual when
    /// ``residualBeforeActivation``).
    var activation: EpilogueActivation = .none
    /// `true`: the node has a 4th input (index 3) with the output's shape, added elementwise.
    var residual = false
    /// `true`: `act(conv + bias + residual)` (ResNet blocks); `false`: `act(conv + bias) + residual`.
    var residualBeforeActivation = false
    /// Weights and bias captured at load when they are constants; when set, inputs #1 and #2 are
    /// not read (see ``foldingBatchNorm(scale:bias:mean:variance:epsilon:)``).
    var weights: Weights? = nil
    /// Register blocking of the direct path and the GEMMs (tests run both on every CPU).
    var tiling = RegisterTiling.native

    /// Constant Conv parameters in ONNX layout.
    struct Weights: Sendable {
        /// `[M, C/group, kH, kW]` (`[M, C/group, kW]` for 1-D), row-major: each output channel's
        /// row is already the GEMM's A operand.
        var values: [Float]
        var shape: [Int]
        /// One value per output channel, or nil for none.
        var bias: [Float]?
    }

    /// Output pixels per image below which all images share one im2col + GEMM.
    static let batchedSpatialLimit = 256

    typealias Vector = SIMD16<Float>

    /// Sizes of one run.
    struct Dimensions {
        var n, c, h, w: Int
        var m, cg, mg: Int
        var oh, ow: Int
        var padTop, padLeft: Int
        var spatial: Int { oh * ow }
        var kDim: Int
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let w: [Float], ws: [Int], bias: [Float]?
        if let weights {
            (w, ws, bias) = (weights.values, weights.shape, weights.bias)
        } else {
            (w, ws) = try node.floats(inputs[1])
            bias = inputs.count > 2 && inputs[2] != nil ? try node.floats(inputs[2]).values : nil
        }
        let setup = try Setup(self, x: xs, w: ws, biasCount: bias?.count, node)
        let residualValues = try residualInput(inputs, outShape: setup.outShape, node)
        let total = setup.total
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in
                Self.withOptionalPointer(bias) { pb in Self.withOptionalPointer(residualValues) { pr in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(1, setup.scratchFloats)) { scratch in
                        // An empty X has no address; the setup then takes the bias-only path, which does not read it.
                        setup.run(x: px.baseAddress ?? UnsafePointer(py), w: pw.baseAddress, bias: pb, residual: pr, y: py,
                                  scratch: setup.scratchFloats > 0 ? scratch.baseAddress : nil, pool: node.context.pool)
                    }
                } }
            } }
        }
        return [Tensor(shape: setup.outShape, storage: .float32(y))]
    }

    @inline(__always)
    /// The fused residual (input #3) of a run, checked against the output's shape; nil when the
    /// kernel has none. Shared by this kernel and ``BlockedConvKernel`` (whose shapes are blocked).
    func residualInput(_ inputs: [Tensor?], outShape: [Int], _ node: NodeExecutor) throws(InferenceError) -> [Float]? {
        guard residual else { return nil }
        guard inputs.count > 3, let r = inputs[3] else {
            throw .internalFailure("node '\(node.node.name)' (\(node.node.opType)): the fused residual input is missing")
        }
        let (values, shape) = try node.floats(r)
        guard shape == outShape else {
            throw node.invalid("residual \(shape.shapeDescription) must have the output's shape \(outShape.shapeDescription)")
        }
        return values
    }

    static func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let values else { return body(nil) }
        return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

// MARK: Epilogue

extension ConvKernel {
    /// `dst = epilogue(src)` for one row whose bias is already in `src`; `dst` may equal `src`.
    @inline(__always)
    func finish(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int, residual r: UnsafePointer<Float>?) {
        let act = activation
        if let r {
            if residualBeforeActivation {
                FastMath.map(src, r, dst, count: count) { act.apply($0 + $1) }
            } else {
                FastMath.map(src, r, dst, count: count) { act.apply($0) + $1 }
            }
        } else if !act.isNone || UnsafePointer(dst) != src {
            FastMath.map(src, dst, count: count) { act.apply($0) }
        }
    }

    /// Stores `lanes` (≤ 16) outputs of `acc` (bias included) through the epilogue.
    @inline(__always)
    func finish(_ acc: Vector, _ dst: UnsafeMutablePointer<Float>, residual r: UnsafePointer<Float>?, lanes: Int) {
        var v = acc
        if let r {
            let rv = VectorBlocks.load(r, count: lanes)
            v = residualBeforeActivation ? activation.apply(v + rv) : activation.apply(v) + rv
        } else {
            v = activation.apply(v)
        }
        VectorBlocks.store(v, dst, count: lanes)
    }
}

// MARK: Algorithms

extension ConvKernel {
    /// One input channel per group: each output vector is `taps` FMAs over a ``PhasePlane``.
    /// Images split over the intra-op pool when the work is large enough.
    func runDepthwise(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                      _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions, _ plane: PhasePlane,
                      offsets offset: UnsafePointer<Int>, pool: IntraOpPool?) {
        let taps = window.kernel.h * window.kernel.w
        let rowStep = window.stride.h * plane.rowStride
        IntraOpPool.forEachChunk(of: d.n, on: pool, worthSplitting: d.n * d.m * d.spatial * taps >= Self.parallelThreshold) { range in
            let padded = ThreadScratch.window.buffer(count: plane.count)
            for b in range {
                for ch in 0..<d.c {
                    plane.fill(padded, from: x + (b * d.c + ch) * d.h * d.w, h: d.h, w: d.w, padding: 0)
                    for j in 0..<d.mg {
                        let oc = ch * d.mg + j
                        let kernel = w + oc * taps
                        let outBase = (b * d.m + oc) * d.spatial
                        let start = Vector(repeating: bias?[oc] ?? 0)
                        for oy in 0..<d.oh {
                            let row = padded + oy * rowStep
                            let line = outBase + oy * d.ow
                            var ox = 0
                            while ox < d.ow {
                                var acc = start
                                let origin = row + ox
                                for t in 0..<taps {
                                    acc = acc.addingProduct(Vector(repeating: kernel[t]), FastMath.load(origin + offset[t]))
                                }
                                finish(acc, y + line + ox, residual: residual.map { $0 + line + ox }, lanes: Swift.min(16, d.ow - ox))
                                ox += 16
                            }
                        }
                    }
                }
            }
        }
    }

    /// Offset of each tap (ky, kx) in a ``PhasePlane``, row-major over the kernel.
    func tapOffsets(_ plane: PhasePlane) -> [Int] {
        var offsets = [Int](repeating: 0, count: window.kernel.h * window.kernel.w)
        for ky in 0..<window.kernel.h {
            for kx in 0..<window.kernel.w {
                offsets[ky * window.kernel.w + kx] = plane.tapOffset(ky: ky, kx: kx, dilation: window.dilation)
            }
        }
        return offsets
    }

    /// Whether a depthwise Conv takes ``runDepthwiseInterleaved(_:_:_:_:_:_:ranges:interior:pool:)``.
    func usesInterleavedDepthwise(_ d: Dimensions) -> Bool {
        d.mg == 1 && d.ow < Self.interleavedWidthLimit && d.n * d.c > 1 && d.h * d.w <= Self.interleavedPlaneLimit
    }

    /// The interleaved depthwise path's window table: per output row, then per output column,
    /// the first input index and the valid tap range; and the output columns whose windows lie
    /// fully inside the input row.
    func depthwiseWindowRanges(_ d: Dimensions) -> (ranges: [Int], interior: Range<Int>) {
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        var rangeTable = [Int](repeating: 0, count: 3 * (d.oh + d.ow))
        for oy in 0..<d.oh {
            let start = oy * sh - d.padTop
            let (lo, hi) = PhasePlane.validRange(offset: start, stride: dh, count: kh, size: d.h)
            rangeTable[3 * oy] = start; rangeTable[3 * oy + 1] = lo; rangeTable[3 * oy + 2] = hi
        }
        for ox in 0..<d.ow {
            let start = ox * sw - d.padLeft
            let (lo, hi) = PhasePlane.validRange(offset: start, stride: dw, count: kw, size: d.w)
            let i = 3 * (d.oh + ox)
            rangeTable[i] = start; rangeTable[i + 1] = lo; rangeTable[i + 2] = hi
        }
        var interiorStart = d.ow, interiorEnd = d.ow
        for ox in 0..<d.ow where rangeTable[3 * (d.oh + ox) + 1] == 0 && rangeTable[3 * (d.oh + ox) + 2] == kw {
            if interiorStart == d.ow { interiorStart = ox }
            interiorEnd = ox + 1
        }
        return (rangeTable, interiorStart..<interiorEnd)
    }

    /// Depthwise output rows narrower than this are computed 16 planes at a time.
    static let interleavedWidthLimit = 16
    /// Largest input plane (h·w) interleaved.
    static let interleavedPlaneLimit = 4096

    /// Depthwise Conv without a depth multiplier on narrow planes: 16 planes (of any images) are
    /// interleaved so that one vector holds the same pixel of 16 planes, each output pixel is
    /// one FMA per valid tap with per-lane weights, and the results are transposed back. The
    /// phase-plane path would copy every plane row by row and leave most vector lanes idle.
    func runDepthwiseInterleaved(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                 _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions,
                                 ranges rows: UnsafePointer<Int>, interior: Range<Int>, pool: IntraOpPool?) {
        let (kh, kw) = window.kernel, (sw, dh, dw) = (window.stride.w, window.dilation.h, window.dilation.w)
        let taps = kh * kw
        let planes = d.n * d.c, pixels = d.h * d.w, outputs = d.spatial
        let columns = rows + 3 * d.oh
        let interiorStart = interior.lowerBound, interiorEnd = interior.upperBound
        let act = activation
        let groups = (planes + 15) / 16
        IntraOpPool.forEachChunk(of: groups, on: pool, worthSplitting: planes * outputs * taps >= Self.parallelThreshold) { groupRange in
            let t = ThreadScratch.window.buffer(count: 16 * (pixels + outputs + taps + 1))
            let o = t + 16 * pixels, weights = o + 16 * outputs, biasLanes = weights + 16 * taps
            for group in groupRange {
                let p0 = group * 16
                let lanes = Swift.min(16, planes - p0)
                for l in 0..<16 {
                    let ch = (p0 + Swift.min(l, lanes - 1)) % d.c
                    for tap in 0..<taps { weights[tap * 16 + l] = w[ch * taps + tap] }
                    biasLanes[l] = bias?[ch] ?? 0
                }
                VectorBlocks.interleave(x + p0 * pixels, planes: lanes, pixels: pixels, into: t)
                let start = FastMath.load(biasLanes)
                for oy in 0..<d.oh {
                    let y0 = rows[3 * oy], kyLo = rows[3 * oy + 1], kyHi = rows[3 * oy + 2]
                    // Four outputs whose windows lie fully inside the row at a time: four
                    // independent FMA chains instead of one latency-bound chain.
                    var ox = 0
                    while ox < d.ow {
                        if ox + 4 <= interiorEnd && ox >= interiorStart {
                            var a0 = start, a1 = start, a2 = start, a3 = start
                            let step = sw &* 16
                            var ky = kyLo
                            while ky < kyHi {
                                let line = t + ((y0 &+ ky &* dh) &* d.w &+ columns[3 * ox]) &* 16
                                let wl = weights + ky &* kw &* 16
                                for kx in 0..<kw {
                                    let wv = FastMath.load(wl + kx &* 16), tap = line + kx &* dw &* 16
                                    a0 = a0.addingProduct(wv, FastMath.load(tap))
                                    a1 = a1.addingProduct(wv, FastMath.load(tap + step))
                                    a2 = a2.addingProduct(wv, FastMath.load(tap + 2 &* step))
                                    a3 = a3.addingProduct(wv, FastMath.load(tap + 3 &* step))
                                }
                                ky &+= 1
                            }
                            if residual == nil { a0 = act.apply(a0); a1 = act.apply(a1); a2 = act.apply(a2); a3 = act.apply(a3) }
                            let at = o + (oy &* d.ow &+ ox) &* 16
                            FastMath.store(a0, at); FastMath.store(a1, at + 16); FastMath.store(a2, at + 32); FastMath.store(a3, at + 48)
                            ox += 4
                            continue
                        }
                        let x0 = columns[3 * ox], kxLo = columns[3 * ox + 1], kxHi = columns[3 * ox + 2]
                        var acc = start
                        var ky = kyLo
                        while ky < kyHi {
                            let line = t + ((y0 &+ ky &* dh) &* d.w &+ x0) &* 16
                            let wl = weights + ky &* kw &* 16
                            var kx = kxLo
                            while kx < kxHi {
                                acc = acc.addingProduct(FastMath.load(wl + kx &* 16), FastMath.load(line + kx &* dw &* 16))
                                kx &+= 1
                            }
                            ky &+= 1
                        }
                        // With a residual the epilogue runs after the transpose back, per plane.
                        if residual == nil { acc = act.apply(acc) }
                        FastMath.store(acc, o + (oy &* d.ow &+ ox) &* 16)
                        ox += 1
                    }
                }
                VectorBlocks.deinterleave(o, planes: lanes, pixels: outputs, into: y + p0 * outputs)
                if let residual {
                    for l in 0..<lanes {
                        let at = (p0 + l) * outputs
                        finish(y + at, y + at, count: outputs, residual: residual + at)
                    }
                }
            }
        }
    }

    /// 1×1, stride 1, no padding, same size: X's planes need no im2col.
    func isPointwise(_ d: Dimensions) -> Bool {
        window.kernel.h == 1 && window.kernel.w == 1 && window.stride.h == 1 && window.stride.w == 1
            && d.oh == d.h && d.ow == d.w && d.padTop == 0 && d.padLeft == 0
    }

    /// The GEMM epilogue of output channels `channel ..< channel + mg` written `ldc` apart.
    @inline(__always)
    func gemmEpilogue(_ bias: UnsafePointer<Float>?, channel: Int, residual r: UnsafePointer<Float>?, ldc: Int) -> GemmEpilogue {
        GemmEpilogue(bias: bias.map { $0 + channel }, biasPerRow: true, activation: activation, residual: r,
                     residualStride: ldc, residualBeforeActivation: residualBeforeActivation)
    }

    /// A pointwise Conv (``isPointwise(_:)``) as one GEMM per image and group: X's
    /// `[C/group, H·W]` slab is already the im2col matrix. `workspace` holds
    /// `GemmKernel.workspaceFloats(m: mg, n: spatial, k: kDim)` floats.
    func runPointwise(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                      _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions,
                      workspace: UnsafeMutablePointer<Float>?, pool: IntraOpPool?) {
        let spatial = d.spatial, kDim = d.kDim, plane0 = d.h * d.w
        for b in 0..<d.n {
            for gi in 0..<group {
                let first = b * d.m + gi * d.mg
                GemmKernel.multiplyAccumulate(m: d.mg, n: spatial, k: kDim, alpha: 1, a: w + gi * d.mg * kDim, lda: kDim,
                                              b: x + (b * d.c + gi * d.cg) * plane0, ldb: spatial, c: y + first * spatial, ldc: spatial,
                                              beta: 0, epilogue: gemmEpilogue(bias, channel: gi * d.mg, residual: residual.map { $0 + first * spatial }, ldc: spatial),
                                              pool: pool, workspace: workspace, tiling: tiling)
            }
        }
    }

    /// im2col + GEMM, per image or (`batched`) for all images at once, for reductions too deep
    /// for ``runDirect``. The GEMM applies bias and activation (and, per image, the residual)
    /// through its epilogue and writes the output once.
    ///
    /// Memory: `columns` holds the im2col matrix (`kDim × columns` floats), `product` the
    /// batched GEMM's result (`mg × columns`), `padded` one ``PhasePlane``, `workspace` the
    /// GEMM's (`GemmKernel.workspaceFloats(m: mg, n: columns, k: kDim)`; nil when 0).
    func runGemm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                 _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions, _ plane: PhasePlane, batched: Bool,
                 offsets: UnsafePointer<Int>, columns col: UnsafeMutablePointer<Float>, product: UnsafeMutablePointer<Float>,
                 padded: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>?, pool: IntraOpPool?) {
        let spatial = d.spatial, kDim = d.kDim, plane0 = d.h * d.w
        let columns = batched ? d.n * spatial : spatial
        @inline(__always) func im2col(_ image: Int, _ gi: Int, into dst: UnsafeMutablePointer<Float>) {
            self.im2col(x + (image * d.c + gi * d.cg) * plane0, channels: d.cg, d, plane, scratch: padded, offsets: offsets, into: dst, ld: columns)
        }
        if batched {
            // Columns b·spatial ..< (b+1)·spatial of the im2col matrix and of the product belong to
            // image b; the residual (laid out per image) is added while copying out.
            for gi in 0..<group {
                for b in 0..<d.n {
                    im2col(b, gi, into: col + b * spatial)
                }
                var e = gemmEpilogue(bias, channel: gi * d.mg, residual: nil, ldc: columns)
                if residual != nil { e.activation = .none }
                GemmKernel.multiplyAccumulate(m: d.mg, n: columns, k: kDim, alpha: 1, a: w + gi * d.mg * kDim, lda: kDim,
                                              b: col, ldb: columns, c: product, ldc: columns, beta: 0, epilogue: e, pool: pool,
                                              workspace: workspace, tiling: tiling)
                for oc in 0..<d.mg {
                    for b in 0..<d.n {
                        let row = (b * d.m + gi * d.mg + oc) * spatial
                        let src = product + oc * columns + b * spatial
                        if let residual {
                            finish(y + row, src, count: spatial, residual: residual + row)
                        } else {
                            (y + row).update(from: src, count: spatial)
                        }
                    }
                }
            }
        } else {
            for b in 0..<d.n {
                for gi in 0..<group {
                    im2col(b, gi, into: col)
                    let first = b * d.m + gi * d.mg
                    GemmKernel.multiplyAccumulate(m: d.mg, n: spatial, k: kDim, alpha: 1, a: w + gi * d.mg * kDim, lda: kDim,
                                                  b: col, ldb: spatial, c: y + first * spatial, ldc: spatial,
                                                  beta: 0, epilogue: gemmEpilogue(bias, channel: gi * d.mg, residual: residual.map { $0 + first * spatial }, ldc: spatial),
                                                  pool: pool, workspace: workspace, tiling: tiling)
                }
            }
        }
    }

    /// Writes the im2col rows (channel, ky, kx) of `channels` planes starting at `x`: row r holds
    /// the input value under tap r for every output pixel, `ld` floats after row r - 1. Each
    /// plane goes through a ``PhasePlane`` first, so every (row, tap) is one contiguous copy
    /// whatever the padding, stride and dilation.
    func im2col(_ x: UnsafePointer<Float>, channels: Int, _ d: Dimensions, _ plane: PhasePlane, scratch: UnsafeMutablePointer<Float>,
                offsets: UnsafePointer<Int>, into dst: UnsafeMutablePointer<Float>, ld: Int) {
        let taps = window.kernel.h * window.kernel.w
        let rowStep = window.stride.h * plane.rowStride
        for ch in 0..<channels {
            plane.fill(scratch, from: x + ch * d.h * d.w, h: d.h, w: d.w, padding: 0)
            for t in 0..<taps {
                let line = dst + (ch * taps + t) * ld
                let tap = scratch + offsets[t]
                for oy in 0..<d.oh {
                    PhasePlane.copy(tap + oy &* rowStep, to: line + oy &* d.ow, count: d.ow)
                }
            }
        }
    }
}
