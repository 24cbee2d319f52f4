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
        guard xs.count == ws.count, xs.count == window.spatialRank + 2 else { throw node.invalid("X \(xs.shapeDescription) and W \(ws.shapeDescription) ranks differ") }
        let n = xs[0], c = xs[1], h = window.spatialRank == 1 ? 1 : xs[2], wd = xs[xs.count - 1]
        let m = ws[0], cg = ws[1]
        let kh = window.kernel.h, kw = window.kernel.w
        guard c == cg * group, m % group == 0 else { throw node.invalid("X has \(c) channels; W \(ws.shapeDescription) with group \(group) expects \(cg * group)") }
        guard (window.spatialRank == 1 ? ws[2] == kw : (ws[2] == kh && ws[3] == kw)) else { throw node.invalid("W \(ws.shapeDescription) does not match kernel_shape") }
        if let bias, bias.count != m { throw node.invalid("B has \(bias.count) values for \(m) output channels") }
        let g = window.geometry(h: h, w: wd)
        let outShape = window.spatialRank == 1 ? [n, m, g.ow] : [n, m, g.oh, g.ow]
        let total = try node.checkedCount(outShape)
        let d = Dimensions(n: n, c: c, h: h, w: wd, m: m, cg: cg, mg: m / group, oh: g.oh, ow: g.ow,
                           padTop: g.pt, padLeft: g.pl, kDim: cg * kh * kw)
        var residualValues: [Float] = []
        if residual {
            guard inputs.count > 3, let r = inputs[3] else { throw .internalFailure("node '\(node.node.name)' (Conv): the fused residual input is missing") }
            let (values, shape) = try node.floats(r)
            guard shape == outShape else { throw node.invalid("residual \(shape.shapeDescription) must have the output's shape \(outShape.shapeDescription)") }
            residualValues = values
        }
        let depthwise = cg == 1
        let batched = !depthwise && n > 1 && d.spatial < Self.batchedSpatialLimit
        _ = try node.checkedCount([d.kDim, batched ? n * d.spatial : d.spatial])   // the im2col matrix
        let plane = PhasePlane(outputs: (d.oh, d.ow), kernel: window.kernel, stride: window.stride, dilation: window.dilation,
                               padTop: d.padTop, padLeft: d.padLeft)
        _ = try node.checkedCount([plane.rows, plane.phases, plane.width])   // absurd pads or dilations refuse, not allocate

        let y = [Float](unsafeUninitializedCapacity: total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in
                Self.withOptionalPointer(bias) { pb in Self.withOptionalPointer(residual ? residualValues : nil) { pr in
                    guard d.kDim > 0, let xBase = px.baseAddress, let wBase = pw.baseAddress else {
                        // No input channels: the output is the bias, through the epilogue.
                        for row in 0..<(n * m) {
                            (py + row * d.spatial).initialize(repeating: pb?[row % m] ?? 0, count: d.spatial)
                            finish(py + row * d.spatial, py + row * d.spatial, count: d.spatial, residual: pr.map { $0 + row * d.spatial })
                        }
                        return
                    }
                    if depthwise {
                        runDepthwise(xBase, wBase, pb, pr, py, d, plane)
                    } else {
                        runGemm(xBase, wBase, pb, pr, py, d, plane, batched: batched)
                    }
                } }
            } }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
    }

    @inline(__always)
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
        } else if act != .none || UnsafePointer(dst) != src {
            FastMath.map(src, dst, count: count) { act.apply($0) }
        }
    }

    /// Stores `lanes` (≤ 16) outputs of `acc` (bias included) through the epilogue.
    @inline(__always)
    func finish(_ acc: Vector, _ dst: UnsafeMutablePointer<Float>, residual r: UnsafePointer<Float>?, lanes: Int) {
        var v = acc
        if let r {
            let rv = lanes == 16 ? FastMath.load(r) : FastMath.load(r, count: lanes)
            v = residualBeforeActivation ? activation.apply(v + rv) : activation.apply(v) + rv
        } else {
            v = activation.apply(v)
        }
        if lanes == 16 { FastMath.store(v, dst) } else { FastMath.store(v, dst, count: lanes) }
    }
}

// MARK: Algorithms

extension ConvKernel {
    /// One input channel per group: each output vector is `taps` FMAs over a ``PhasePlane``.
    func runDepthwise(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                      _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions, _ plane: PhasePlane) {
        let taps = window.kernel.h * window.kernel.w
        let rowStep = window.stride.h * plane.rowStride
        withUnsafeTemporaryAllocation(of: Float.self, capacity: plane.count) { buffer in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: taps) { offsets in
            let padded = buffer.baseAddress!, offset = offsets.baseAddress!
            for ky in 0..<window.kernel.h {
                for kx in 0..<window.kernel.w {
                    offset[ky * window.kernel.w + kx] = plane.tapOffset(ky: ky, kx: kx, dilation: window.dilation)
                }
            }
            for b in 0..<d.n {
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
        } }
    }

    /// im2col + GEMM, per image or (`batched`) for all images at once.
    func runGemm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                 _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions, _ plane: PhasePlane, batched: Bool) {
        let spatial = d.spatial, kDim = d.kDim, plane0 = d.h * d.w
        let pointwise = window.kernel.h == 1 && window.kernel.w == 1 && window.stride.h == 1 && window.stride.w == 1 && d.oh == d.h && d.ow == d.w && d.padTop == 0 && d.padLeft == 0
        @inline(__always) func initializeBias(_ c: UnsafeMutablePointer<Float>, channel: Int, ldc: Int, count: Int) {
            for oc in 0..<d.mg { (c + oc * ldc).initialize(repeating: bias?[channel + oc] ?? 0, count: count) }
        }
        if pointwise && !batched {
            // X's [C/group, H·W] slab of each image and group is already the im2col matrix.
            for b in 0..<d.n {
                for gi in 0..<group {
                    let dst = y + (b * d.m + gi * d.mg) * spatial
                    initializeBias(dst, channel: gi * d.mg, ldc: spatial, count: spatial)
                    GemmKernel.multiplyAccumulate(m: d.mg, n: spatial, k: kDim, alpha: 1, a: w + gi * d.mg * kDim, lda: kDim,
                                                  b: x + (b * d.c + gi * d.cg) * plane0, ldb: spatial, c: dst, ldc: spatial)
                    for oc in 0..<d.mg {
                        let row = (b * d.m + gi * d.mg + oc) * spatial
                        finish(y + row, y + row, count: spatial, residual: residual.map { $0 + row })
                    }
                }
            }
            return
        }
        let columns = batched ? d.n * spatial : spatial
        let taps = window.kernel.h * window.kernel.w
        let scratch = kDim * columns + (batched ? d.mg * columns : 0) + plane.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: taps) { offsetBuffer in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: scratch) { buffer in
            let offsets = offsetBuffer.baseAddress!
            for ky in 0..<window.kernel.h {
                for kx in 0..<window.kernel.w {
                    offsets[ky * window.kernel.w + kx] = plane.tapOffset(ky: ky, kx: kx, dilation: window.dilation)
                }
            }
            let col = buffer.baseAddress!
            let padded = col + kDim * columns + (batched ? d.mg * columns : 0)
            @inline(__always) func im2col(_ image: Int, _ gi: Int, into dst: UnsafeMutablePointer<Float>) {
                self.im2col(x + (image * d.c + gi * d.cg) * plane0, channels: d.cg, d, plane, scratch: padded, offsets: offsets, into: dst, ld: columns)
            }
            if batched {
                // Columns b·spatial ..< (b+1)·spatial of the im2col matrix and of the product belong to image b.
                let product = col + kDim * columns
                for gi in 0..<group {
                    for b in 0..<d.n {
                        im2col(b, gi, into: col + b * spatial)
                    }
                    initializeBias(product, channel: gi * d.mg, ldc: columns, count: columns)
                    GemmKernel.multiplyAccumulate(m: d.mg, n: columns, k: kDim, alpha: 1, a: w + gi * d.mg * kDim, lda: kDim,
                                                  b: col, ldb: columns, c: product, ldc: columns)
                    for oc in 0..<d.mg {
                        for b in 0..<d.n {
                            let row = (b * d.m + gi * d.mg + oc) * spatial
                            finish(y + row, product + oc * columns + b * spatial, count: spatial, residual: residual.map { $0 + row })
                        }
                    }
                }
            } else {
                for b in 0..<d.n {
                    for gi in 0..<group {
                        im2col(b, gi, into: col)
                        let dst = y + (b * d.m + gi * d.mg) * spatial
                        initializeBias(dst, channel: gi * d.mg, ldc: spatial, count: spatial)
                        GemmKernel.multiplyAccumulate(m: d.mg, n: spatial, k: kDim, alpha: 1, a: w + gi * d.mg * kDim, lda: kDim,
                                                      b: col, ldb: spatial, c: dst, ldc: spatial)
                        for oc in 0..<d.mg {
                            let row = (b * d.m + gi * d.mg + oc) * spatial
                            finish(y + row, y + row, count: spatial, residual: residual.map { $0 + row })
                        }
                    }
                }
            }
        } }
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
