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
/// Each of them may be reached through a ``ViewChain`` (``views``): the fusion absorbs the
/// head-splitting reshapes and transposes around attention, which the kernel then reads and
/// writes in place through strides (``AttentionLayout``).
struct AttentionKernel: NodeKernel {
    let scale: Float
    let keysTransposed: Bool
    let hasMask: Bool
    let views: Views

    /// The chains between the fused node's operands and Q, K (or Kᵀ), V and the mask, the one
    /// from the attention result to the node's output, and the node's inputs holding scalar
    /// factors of the scale (computed from shapes, as PyTorch's exporter does).
    struct Views: Sendable {
        var q = ViewChain(), k = ViewChain(), v = ViewChain(), mask = ViewChain(), output = ViewChain()
        var scaleOperands: [Int] = []
    }

    init(scale: Float, keysTransposed: Bool, hasMask: Bool, views: Views = Views()) {
        self.scale = scale
        self.keysTransposed = keysTransposed
        self.hasMask = hasMask
        self.views = views
    }

    /// Keys per tile: 64 scores fit in four 512-bit registers' worth of L1 traffic.
    static let tile = 64

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (q, qShape) = try node.floats(inputs[0])
        let (k, kShape) = try node.floats(inputs[1])
        let (v, vShape) = try node.floats(inputs[2])
        let mask = hasMask ? try node.floats(inputs[3]) : nil
        let layout = try AttentionLayout(self, shapes: [qShape, kShape, vShape] + (mask.map { [$0.shape] } ?? []),
                                         operand: { $0 < inputs.count ? inputs[$0] : nil }, threads: node.context.pool?.threadCount ?? 1, node)
        let total = layout.outCount
        let y = node.outputFloats(total) { out, initialized in
            initialized = total
            guard total > 0 else { return }
            q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
            (mask?.values ?? []).withUnsafeBufferPointer { pm in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(1, layout.scratchFloats)) { scratch in
                    compute(pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, hasMask ? pm.baseAddress! : nil, out.baseAddress!, layout,
                            scratch: scratch.baseAddress!, pool: node.context.pool)
                }
            } } } }
        }
        return [Tensor(shape: layout.outShape, storage: .float32(y))]
    }

    /// Floats of working memory the core computation needs (``AttentionLayout`` adds the
    /// copies of operands it cannot read in place): one tile of scores and one output row of
    /// accumulators; for short keys, Kᵀ of one batch (unless K comes as rows of Kᵀ), a block of
    /// score rows and the GEMMs' workspace.
    func coreScratchFloats(sq: Int, d: Int, sk: Int, dv: Int, keysByRows: Bool) -> Int {
        if Self.isSmallHead(d: d, sk: sk, dv: dv) {
            return (d + 2 * sk + Self.lanes) * Self.lanes
        }
        guard sk <= Self.shortKeyLimit else { return Self.tile + dv }
        let workspace = Swift.max(GemmKernel.workspaceFloats(m: Self.blockRows, n: sk, k: d),
                                  GemmKernel.workspaceFloats(m: Self.blockRows, n: dv, k: sk))
        return (keysByRows ? d * sk : 0) + Self.blockRows * sk + Swift.max(1, workspace)
    }

    /// The attention of every query row into `out` (`layout.outCount` floats, not empty), with
    /// `layout.scratchFloats` floats of `scratch`. `q`, `k`, `v` and `mask` are the fused
    /// node's operands (the starts of their chains).
    func compute(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?,
                 _ out: UnsafeMutablePointer<Float>, _ layout: AttentionLayout, scratch: UnsafeMutablePointer<Float>, pool: IntraOpPool?) {
        layout.q.resolution.copy(operand: q, scratch: scratch)
        layout.k.resolution.copy(operand: k, scratch: scratch)
        layout.v.resolution.copy(operand: v, scratch: scratch)
        if let mask, let m = layout.mask { m.resolution.copy(operand: mask, scratch: scratch) }
        let qBase = layout.q.resolution.base(operand: q, scratch: scratch)
        let kBase = layout.k.resolution.base(operand: k, scratch: scratch)
        let vBase = layout.v.resolution.base(operand: v, scratch: scratch)
        let mBase = mask.flatMap { m in layout.mask.map { $0.resolution.base(operand: m, scratch: scratch) } }
        let staging = layout.output.staging
        let outBase = staging.map { scratch + $0.start } ?? out
        let short = layout.sk <= Self.shortKeyLimit
        let small = Self.isSmallHead(d: layout.d, sk: layout.sk, dv: layout.dv)
        // (batch, head) matrices are independent: with a pool and enough work, each thread
        // takes a contiguous run of them with its own working memory.
        let tasks = layout.tasks(pool)
        let per = (layout.batches + tasks - 1) / tasks
        // A local function rather than a closure value, whose captures would be boxed on the
        // heap each call (the allocation probe caught it).
        func run(_ task: Int) {
            let core = scratch + layout.coreScratch + task * layout.coreScratchFloats
            for b in (task * per)..<Swift.min(layout.batches, (task + 1) * per) {
                let qb = qBase + layout.q.offsets[b], kb = kBase + layout.k.offsets[b], vb = vBase + layout.v.offsets[b]
                let mb = mBase.map { $0 + layout.mask!.offsets[b] }
                let ob = outBase + layout.output.offsets[b]
                if small {
                    smallHead(qb, kb, vb, mb, layout, into: ob, scratch: core)
                } else if short {
                    shortKeys(qb, kb, vb, mb, layout, into: ob, scratch: core)
                } else {
                    tiledKeys(qb, kb, vb, mb, layout, into: ob, scratch: core)
                }
            }
        }
        if tasks > 1, let pool { pool.parallelFor(tasks, run) } else { run(0) }
        if let staging {
            staging.forward.copy(operand: scratch + staging.start, scratch: scratch)
            staging.final.copy(staging.forward.base(operand: scratch + staging.start, scratch: scratch), out,
                               width: MemoryLayout<Float>.stride, pool: nil)
        }
    }

    /// One batch's attention by tiles of keys with the online softmax.
    @inline(__always)
    private func tiledKeys(_ qb: UnsafePointer<Float>, _ kb: UnsafePointer<Float>, _ vb: UnsafePointer<Float>,
                           _ mb: UnsafePointer<Float>?, _ layout: AttentionLayout, into ob: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) {
        let (sq, sk, dv) = (layout.sq, layout.sk, layout.dv)
        let tile = Self.tile
        let scores = scratch, acc = scratch + tile
        let vRow = layout.v.rowStride
        for i in 0..<sq {
            let qi = qb + i * layout.q.rowStride
            let yi = ob + i * layout.output.rowStride
            var runningMax = -Float.infinity, runningSum: Float = 0
            acc.update(repeating: 0, count: dv)
            var j0 = 0
            while j0 < sk {
                let n = Swift.min(tile, sk - j0)
                scoreTile(qi, kb, layout, j0: j0, n: n, into: scores)
                var tileMax = -Float.infinity
                if let mb, let m = layout.mask {
                    let mrow = mb + i * m.rowStride
                    for j in 0..<n { scores[j] += mrow[(j0 + j) * m.columnStride]; tileMax = Swift.max(tileMax, scores[j]) }
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
                        let vj = vb + (j0 + j) * vRow
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

    typealias Lanes = SIMD16<Float>
    static let lanes = Lanes.scalarCount

    /// Heads with at most 16 keys and head sizes up to 64 (``smallHead``).
    static func isSmallHead(d: Int, sk: Int, dv: Int) -> Bool { sk <= lanes && d <= 64 && dv <= 64 && d > 0 && sk > 0 }

    /// One batch's attention for a small head (≤ 16 keys, head sizes ≤ 64), 16 query rows at
    /// a time with the rows in vector lanes: a key's scores for all 16 rows are one vector (Qᵀ
    /// times a broadcast key element), so the softmax's maximum and sum are lane-wise across
    /// the keys' vectors, with no reduction inside a vector and every key's exponential
    /// independent of the others, and an output column is a weighted sum of broadcast V
    /// elements. Nothing goes through a GEMM call, whose setup dwarfs a 5 × 8 product. Each
    /// row's arithmetic is the same whatever the other rows are, so a request's rows come out
    /// the same alone or batched.
    @inline(__always)
    private func smallHead(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                           _ mask: UnsafePointer<Float>?, _ layout: AttentionLayout, into y: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) {
        let (sq, d, sk, dv) = (layout.sq, layout.d, layout.sk, layout.dv)
        let n = Self.lanes
        // Scratch: Qᵀ (d vectors over rows), the keys' score/probability vectors, the mask
        // for those rows (one vector per key) and 16 output columns over rows.
        let queriesT = scratch, probabilities = queriesT + d * n, maskT = probabilities + sk * n, columns = maskT + sk * n
        let qRow = layout.q.rowStride, yRow = layout.output.rowStride
        let kRow = layout.k.rowStride, kColumn = layout.k.columnStride, vRow = layout.v.rowStride
        let scale = Lanes(repeating: layout.scale)
        let maskPerRow = mask != nil && (layout.mask?.rowStride ?? 0) != 0
        // Lanes past the last row compute on zeros and are never stored.
        queriesT.update(repeating: 0, count: d * n)
        if maskPerRow { maskT.update(repeating: 0, count: sk * n) }
        var i0 = 0
        while i0 < sq {
            let rows = Swift.min(n, sq - i0)
            for r in 0..<rows {
                let qi = q + (i0 + r) * qRow
                for c in 0..<d { queriesT[c * n + r] = qi[c] }
            }
            if maskPerRow, let mask, let m = layout.mask {
                for r in 0..<rows {
                    let mi = mask + (i0 + r) * m.rowStride
                    for j in 0..<sk { maskT[j * n + r] = mi[j * m.columnStride] }
                }
            }
            var maximum = Lanes(repeating: -.infinity)
            for j in 0..<sk {
                var scores = Self.weightedSum(UnsafePointer(queriesT), k + j * kRow, stride: kColumn, count: d) * scale
                if let mask, let m = layout.mask {
                    scores += maskPerRow ? FastMath.load(maskT + j * n) : Lanes(repeating: mask[j * m.columnStride])
                }
                maximum.replace(with: scores, where: scores .> maximum)
                FastMath.store(scores, probabilities + j * n)
            }
            // A fully masked row is NaN (−inf − −inf), as the unfused Softmax gives.
            var sum = Lanes()
            for j in 0..<sk {
                let e = FastMath.exp(FastMath.load(probabilities + j * n) - maximum)
                FastMath.store(e, probabilities + j * n)
                sum += e
            }
            let inverse = 1 / sum
            var c0 = 0
            while c0 < dv {
                let width = Swift.min(n, dv - c0)
                for c in 0..<width {
                    let column = Self.weightedSum(UnsafePointer(probabilities), v + c0 + c, stride: vRow, count: sk)
                    FastMath.store(column * inverse, columns + c * n)
                }
                for r in 0..<rows {
                    let yi = y + (i0 + r) * yRow + c0
                    for c in 0..<width { yi[c] = columns[c * n + r] }
                }
                c0 += n
            }
            i0 += rows
        }
    }

    /// `Σ vectors[t] · scalars[t·stride]` over `t < count`, `vectors` being consecutive
    /// vectors of ``lanes`` floats; two accumulator chains, so the FMAs' latency overlaps.
    @inline(__always)
    private static func weightedSum(_ vectors: UnsafePointer<Float>, _ scalars: UnsafePointer<Float>, stride: Int, count: Int) -> Lanes {
        let n = lanes
        var a0 = Lanes(), a1 = Lanes()
        var t = 0
        while t + 1 < count {
            a0 = a0.addingProduct(FastMath.load(vectors + t * n), Lanes(repeating: scalars[t * stride]))
            a1 = a1.addingProduct(FastMath.load(vectors + (t + 1) * n), Lanes(repeating: scalars[(t + 1) * stride]))
            t += 2
        }
        if t < count { a0 = a0.addingProduct(FastMath.load(vectors + t * n), Lanes(repeating: scalars[t * stride])) }
        return a0 + a1
    }

    /// Keys up to which a block of query rows takes the short-key path (``shortKeys``): its
    /// scores (``blockRows`` × sk) fit in L2, and two GEMMs around a softmax pass beat the
    /// per-row online softmax, whose scalar inner loops made the bundled tick transformer's
    /// 32-key attention 2.7x slower than the unfused MatMul, Softmax, MatMul (46 against 17 µs).
    /// Longer key ranges take the tiles, which never hold more than one tile of scores.
    static let shortKeyLimit = 256

    /// Query rows whose scores the short-key path holds at once.
    static let blockRows = 64

    /// One batch's attention when it has at most ``shortKeyLimit`` keys (small heads, short
    /// sequences): blocks of query rows go through two GEMMs with a softmax between them, the
    /// scores of one block (``blockRows`` × sk) being the only intermediate. Per-row work in
    /// registers lost to this at these sizes: it moved single lanes in and out of vectors for a
    /// handful of values.
    @inline(__always)
    private func shortKeys(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                           _ mask: UnsafePointer<Float>?, _ layout: AttentionLayout, into y: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) {
        let (sq, d, sk, dv) = (layout.sq, layout.d, layout.sk, layout.dv)
        let qRow = layout.q.rowStride, yRow = layout.output.rowStride
        var keysT = k, ldk = layout.k.columnStride
        var next = scratch
        if layout.keysByRows {
            // Kᵀ of this batch, dense, as the first GEMM's B.
            let kRow = layout.k.rowStride
            for j in 0..<sk {
                let row = k + j * kRow
                for c in 0..<d { next[c * sk + j] = row[c] }
            }
            keysT = UnsafePointer(next)
            ldk = sk
            next += d * sk
        }
        let scores = next, workspace = next + Self.blockRows * sk
        var i0 = 0
        while i0 < sq {
            let rows = Swift.min(Self.blockRows, sq - i0)
            GemmKernel.multiplyAccumulate(m: rows, n: sk, k: d, alpha: layout.scale, a: q + i0 * qRow, lda: qRow, b: keysT, ldb: ldk,
                                          c: scores, ldc: sk, beta: 0, workspace: workspace)
            if let mask, let m = layout.mask {
                for i in 0..<rows {
                    let mi = mask + (i0 + i) * m.rowStride, si = scores + i * sk
                    for j in 0..<sk { si[j] += mi[j * m.columnStride] }
                }
            }
            // A fully masked row comes out NaN (−inf − −inf), as the unfused Softmax gives.
            SoftmaxKernel.softmax(scores, scores, outer: rows, axis: sk, inner: 1)
            GemmKernel.multiplyAccumulate(m: rows, n: dv, k: sk, alpha: 1, a: scores, lda: sk, b: v, ldb: layout.v.rowStride,
                                          c: y + i0 * yRow, ldc: yRow, beta: 0, workspace: workspace)
            i0 += rows
        }
    }

    /// `scores[j] = scale · q · k_(j0+j)` for `n` keys.
    @inline(__always)
    private func scoreTile(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ layout: AttentionLayout, j0: Int, n: Int,
                           into scores: UnsafeMutablePointer<Float>) {
        let d = layout.d, scale = layout.scale
        if layout.keysByRows {
            let kRow = layout.k.rowStride
            for j in 0..<n {
                let kj = k + (j0 + j) * kRow
                var dot: Float = 0
                for c in 0..<d { dot += q[c] * kj[c] }
                scores[j] = dot * scale
            }
        } else {
            // Kᵀ rows are contiguous over keys: accumulate q[c]·Kᵀ[c, j] along j (vectorizes).
            let kT = layout.k.columnStride
            scores.update(repeating: 0, count: n)
            for c in 0..<d {
                let qc = q[c], row = k + c * kT + j0
                for j in 0..<n { scores[j] += qc * row[j] }
            }
            for j in 0..<n { scores[j] *= scale }
        }
    }
}
