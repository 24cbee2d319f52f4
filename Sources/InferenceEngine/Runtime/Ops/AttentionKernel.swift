#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scaled dot-product attention, `softmax(scale · Q·Kᵀ + mask) · V`, as one kernel that
/// never holds more than one tile of scores: for each query row it walks the keys in tiles,
/// keeping a running maximum, the running sum of exponentials and the weighted sum of values
/// (the online-softmax recurrence), and rescales them when the maximum grows.
///
/// Inputs: Q `[…, Sq, D]`; K as `[…, Sk, D]`, or `[…, D, Sk]` when ``keysTransposed`` (the
/// operand the exporter fed to MatMul); V `[…, Sk, Dv]`; optionally an additive mask that
/// broadcasts to `[…, Sq, Sk]`. Leading dimensions broadcast as in MatMul. Output `[…, Sq, Dv]`.
struct AttentionKernel: NodeKernel {
    let scale: Float
    let keysTransposed: Bool
    let hasMask: Bool

    /// Keys per tile: 64 scores fit in four 512-bit registers' worth of L1 traffic.
    static let tile = 64

    /// The geometry of one attention call: extents, the broadcast batch offsets of every
    /// operand and how the mask is indexed.
    struct Layout: Sendable {
        let sq: Int, d: Int, sk: Int, dv: Int
        let batches: Int
        /// Per batch, the element offset of its Q, K, V and mask matrices.
        let qOffsets: [Int], kOffsets: [Int], vOffsets: [Int], maskOffsets: [Int]
        let maskRowStride: Int, maskColStride: Int
        let outShape: [Int]
        let outCount: Int
    }

    /// Why shapes do not make an attention call (the message, named with the node by the caller).
    struct ShapeMismatch: Error { let message: String }

    func layout(q qShape: [Int], k kShape: [Int], v vShape: [Int], mask: [Int]?) throws(ShapeMismatch) -> Layout {
        guard qShape.count >= 2, kShape.count >= 2, vShape.count >= 2 else {
            throw ShapeMismatch(message: "Q, K and V must have rank ≥ 2, got \(qShape.shapeDescription), \(kShape.shapeDescription), \(vShape.shapeDescription)")
        }
        let sq = qShape[qShape.count - 2], d = qShape[qShape.count - 1]
        let sk = keysTransposed ? kShape[kShape.count - 1] : kShape[kShape.count - 2]
        let kd = keysTransposed ? kShape[kShape.count - 2] : kShape[kShape.count - 1]
        let dv = vShape[vShape.count - 1]
        guard kd == d, vShape[vShape.count - 2] == sk else {
            throw ShapeMismatch(message: "attention shapes do not match: Q \(qShape.shapeDescription), K \(kShape.shapeDescription), V \(vShape.shapeDescription)")
        }
        // Leading (batch, head) dimensions broadcast across all operands, as the MatMuls did.
        var maskShape = mask ?? []
        while maskShape.count < 2 { maskShape.insert(1, at: 0) }
        if hasMask {
            let rows = maskShape[maskShape.count - 2], cols = maskShape[maskShape.count - 1]
            guard rows == 1 || rows == sq, cols == 1 || cols == sk else {
                throw ShapeMismatch(message: "mask \(maskShape.shapeDescription) does not broadcast to [\(sq), \(sk)] scores")
            }
        }
        let leads = [Array(qShape.dropLast(2)), Array(kShape.dropLast(2)), Array(vShape.dropLast(2)), Array(maskShape.dropLast(2))]
        var lead: [Int] = []
        for l in leads.prefix(hasMask ? 4 : 3) {
            guard let b = Broadcast.shape(lead, l) else {
                throw ShapeMismatch(message: "batch dimensions of Q \(qShape.shapeDescription), K \(kShape.shapeDescription), V \(vShape.shapeDescription) do not broadcast")
            }
            lead = b
        }
        let outShape = lead + [sq, dv]
        guard let outCount = ShapeMath.elementCount(outShape) else {
            throw ShapeMismatch(message: "output shape \(outShape.shapeDescription) is too large")
        }
        let strides = [sq * d, sk * d, sk * dv, maskShape[maskShape.count - 2] * maskShape[maskShape.count - 1]]
        let offsets = (0..<4).map { Self.batchOffsets(leads[$0], lead: lead, matrix: strides[$0]) }
        return Layout(sq: sq, d: d, sk: sk, dv: dv, batches: ShapeMath.product(lead, 0..<lead.count),
                      qOffsets: offsets[0], kOffsets: offsets[1], vOffsets: offsets[2], maskOffsets: offsets[3],
                      maskRowStride: maskShape[maskShape.count - 2] == 1 ? 0 : maskShape[maskShape.count - 1],
                      maskColStride: maskShape[maskShape.count - 1] == 1 ? 0 : 1,
                      outShape: outShape, outCount: outCount)
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (q, qShape) = try node.floats(inputs[0])
        let (k, kShape) = try node.floats(inputs[1])
        let (v, vShape) = try node.floats(inputs[2])
        let mask = hasMask ? try node.floats(inputs[3]) : nil
        let layout: Layout
        do throws(ShapeMismatch) {
            layout = try self.layout(q: qShape, k: kShape, v: vShape, mask: mask?.shape)
        } catch {
            throw node.invalid(error.message)
        }
        _ = try node.checkedCount(layout.outShape)
        let total = layout.outCount
        let y = node.outputFloats(total) { out, initialized in
            initialized = total
            guard total > 0 else { return }
            q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
            (mask?.values ?? []).withUnsafeBufferPointer { pm in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchFloats(layout)) { scratch in
                    compute(pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, hasMask ? pm.baseAddress! : nil, out.baseAddress!, layout,
                            scratch: scratch.baseAddress!)
                }
            } } } }
        }
        return [Tensor(shape: layout.outShape, storage: .float32(y))]
    }

    /// Whether every query row sees at most 16 keys: then a block of rows takes the short-key
    /// path (``shortKeys``).
    static func isShort(_ layout: Layout) -> Bool { layout.sk <= 16 }

    /// Query rows whose scores the short-key path holds at once.
    static let blockRows = 64

    /// Floats of working memory ``compute(_:_:_:_:_:_:scratch:)`` needs: one tile of scores and
    /// one output row of accumulators; for short keys, Kᵀ of one batch (unless K comes
    /// transposed), a block of score rows and the GEMMs' workspace.
    func scratchFloats(_ layout: Layout) -> Int {
        guard Self.isShort(layout) else { return Self.tile + layout.dv }
        let workspace = Swift.max(GemmKernel.workspaceFloats(m: Self.blockRows, n: layout.sk, k: layout.d),
                                  GemmKernel.workspaceFloats(m: Self.blockRows, n: layout.dv, k: layout.sk))
        return (keysTransposed ? 0 : layout.d * layout.sk) + Self.blockRows * layout.sk + Swift.max(1, workspace)
    }

    /// The attention of every query row into `out` (`layout.outCount` floats, not empty), with
    /// ``scratchFloats(_:)`` floats of `scratch`.
    func compute(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?,
                 _ out: UnsafeMutablePointer<Float>, _ layout: Layout, scratch: UnsafeMutablePointer<Float>) {
        let (sq, d, sk, dv) = (layout.sq, layout.d, layout.sk, layout.dv)
        let maskRowStride = layout.maskRowStride, maskColStride = layout.maskColStride
        let tile = Self.tile
        let short = Self.isShort(layout)
        do {
            let scores = scratch, acc = scratch + tile
            for b in 0..<layout.batches {
                let qb = q + layout.qOffsets[b], kb = k + layout.kOffsets[b]
                let vb = v + layout.vOffsets[b]
                let mb = mask.map { $0 + layout.maskOffsets[b] }
                if short {
                    shortKeys(qb, kb, vb, mb, layout, into: out + b * sq * dv, scratch: scratch)
                    continue
                }
                for i in 0..<sq {
                    let qi = qb + i * d
                    let yi = out + (b * sq + i) * dv
                    var runningMax = -Float.infinity, runningSum: Float = 0
                    acc.update(repeating: 0, count: dv)
                    var j0 = 0
                    while j0 < sk {
                        let n = Swift.min(tile, sk - j0)
                        scoreTile(qi, kb, d: d, sk: sk, j0: j0, n: n, into: scores)
                        var tileMax = -Float.infinity
                        if let mb {
                            let mrow = mb + i * maskRowStride
                            for j in 0..<n { scores[j] += mrow[(j0 + j) * maskColStride]; tileMax = Swift.max(tileMax, scores[j]) }
                        } else {
                            for j in 0..<n { tileMax = Swift.max(tileMax, scores[j]) }
                        }
                        // A tile of only -inf (fully masked) adds nothing; skipping it keeps
                        // -inf − -inf = NaN out of the running sums.
                        if tileMax > -Float.infinity || tileMax.isNaN {
                            let newMax = Swift.max(runningMax, tileMax)
                            let correction = expf(runningMax - newMax)
                            // Probabilities of the whole tile at once, 16 lanes per step.
                            let shift = SIMD16<Float>(repeating: newMax)
                            FastMath.map(scores, scores, count: n) { FastMath.exp($0 - shift) }
                            var tileSum: Float = 0
                            for j in 0..<n { tileSum += scores[j] }
                            runningSum = runningSum * correction + tileSum
                            if correction != 1 { for c in 0..<dv { acc[c] *= correction } }
                            for j in 0..<n {
                                let p = scores[j]
                                let vj = vb + (j0 + j) * dv
                                for c in 0..<dv { acc[c] += p * vj[c] }
                            }
                            runningMax = newMax
                        }
                        j0 += n
                    }
                    // Every key masked: the unfused Softmax yields NaN (−inf − −inf); so does this.
                    let inv = runningSum > 0 ? 1 / runningSum : Float.nan
                    for c in 0..<dv { yi[c] = acc[c] * inv }
                }
            }
        }
    }

    /// One batch's attention when it has at most 16 keys (small heads, short sequences):
    /// blocks of query rows go through two GEMMs with a softmax between them, the scores of one
    /// block (``blockRows`` × sk) being the only intermediate. Per-row work in registers lost to
    /// this at these sizes: it moved single lanes in and out of vectors for a handful of values.
    @inline(__always)
    private func shortKeys(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                           _ mask: UnsafePointer<Float>?, _ layout: Layout, into y: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) {
        let (sq, d, sk, dv) = (layout.sq, layout.d, layout.sk, layout.dv)
        var keysT = UnsafePointer(k)
        var next = scratch
        if !keysTransposed {
            GemmKernel.transpose(rows: sk, cols: d, src: k, dst: next)
            keysT = UnsafePointer(next)
            next += d * sk
        }
        let scores = next, workspace = next + Self.blockRows * sk
        var i0 = 0
        while i0 < sq {
            let rows = Swift.min(Self.blockRows, sq - i0)
            GemmKernel.multiplyAccumulate(m: rows, n: sk, k: d, alpha: scale, a: q + i0 * d, lda: d, b: keysT, ldb: sk,
                                          c: scores, ldc: sk, beta: 0, workspace: workspace)
            if let mask {
                for i in 0..<rows {
                    let mi = mask + (i0 + i) * layout.maskRowStride, si = scores + i * sk
                    for j in 0..<sk { si[j] += mi[j * layout.maskColStride] }
                }
            }
            // A fully masked row comes out NaN (−inf − −inf), as the unfused Softmax gives.
            SoftmaxKernel.softmax(scores, scores, outer: rows, axis: sk, inner: 1)
            GemmKernel.multiplyAccumulate(m: rows, n: dv, k: sk, alpha: 1, a: scores, lda: sk, b: v, ldb: dv,
                                          c: y + i0 * dv, ldc: dv, beta: 0, workspace: workspace)
            i0 += rows
        }
    }

    /// `scores[j] = scale · q · k_(j0+j)` for `n` keys.
    @inline(__always)
    private func scoreTile(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, d: Int, sk: Int, j0: Int, n: Int,
                           into scores: UnsafeMutablePointer<Float>) {
        if keysTransposed {
            // Kᵀ rows are contiguous over keys: accumulate q[c]·Kᵀ[c, j] along j (vectorizes).
            scores.update(repeating: 0, count: n)
            for c in 0..<d {
                let qc = q[c], row = k + c * sk + j0
                for j in 0..<n { scores[j] += qc * row[j] }
            }
            for j in 0..<n { scores[j] *= scale }
        } else {
            for j in 0..<n {
                let kj = k + (j0 + j) * d
                var dot: Float = 0
                for c in 0..<d { dot += q[c] * kj[c] }
                scores[j] = dot * scale
            }
        }
    }

    /// Element offset of each broadcast batch's matrix in an operand with leading dims `dims`.
    static func batchOffsets(_ dims: [Int], lead: [Int], matrix: Int) -> [Int] {
        Generic.viewIndices(lead, strides: Generic.broadcastStrides(dims, in: lead).map { $0 * matrix })
    }
}
