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
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.scratchFloats(layout)) { scratch in
                    compute(pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, hasMask ? pm.baseAddress! : nil, out.baseAddress!, layout,
                            scratch: scratch.baseAddress!)
                }
            } } } }
        }
        return [Tensor(shape: layout.outShape, storage: .float32(y))]
    }

    /// Whether the rows are short enough (≤ 16 keys, values ≤ 16 wide) for ``shortRow``.
    static func isShort(_ layout: Layout) -> Bool { layout.sk <= 16 && layout.dv <= 16 }

    /// Floats of working memory ``compute(_:_:_:_:_:_:scratch:)`` needs: one tile of scores and
    /// one output row of accumulators; for short rows, one batch's keys and values packed 16
    /// lanes wide plus three 16-lane slots.
    static func scratchFloats(_ layout: Layout) -> Int {
        isShort(layout) ? 16 * (layout.d + layout.sk + 3) : tile + layout.dv
    }

    /// The attention of every query row into `out` (`layout.outCount` floats, not empty), with
    /// ``scratchFloats(_:)`` floats of `scratch`.
    func compute(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ mask: UnsafePointer<Float>?,
                 _ out: UnsafeMutablePointer<Float>, _ layout: Layout, scratch: UnsafeMutablePointer<Float>) {
        let (sq, d, sk, dv) = (layout.sq, layout.d, layout.sk, layout.dv)
        let maskRowStride = layout.maskRowStride, maskColStride = layout.maskColStride
        let tile = Self.tile
        let short = Self.isShort(layout)
        // Short rows: one batch's Kᵀ (d rows) and V (sk rows) packed 16 lanes wide, then slots
        // for the mask row, the probabilities and the output row.
        let packedK = scratch, packedV = scratch + 16 * d, maskSlot = packedV + 16 * sk
        let probabilities = maskSlot + 16, outputSlot = probabilities + 16
        if short {
            // Lanes past the last key stay -inf: their probability is 0. Without a mask the
            // slot is that pattern once; with one, each row fills its first sk lanes.
            maskSlot.update(repeating: -.infinity, count: 16)
            if mask == nil { maskSlot.update(repeating: 0, count: sk) }
        }
        do {
            let scores = scratch, acc = scratch + tile
            for b in 0..<layout.batches {
                let qb = q + layout.qOffsets[b], kb = k + layout.kOffsets[b]
                let vb = v + layout.vOffsets[b]
                let mb = mask.map { $0 + layout.maskOffsets[b] }
                if short {
                    packShort(kb, vb, d: d, sk: sk, dv: dv, keys: packedK, values: packedV)
                    for i in 0..<sq {
                        if let mrow = mb.map({ $0 + i * maskRowStride }) {
                            for j in 0..<sk { maskSlot[j] = mrow[j * maskColStride] }
                        }
                        shortRow(qb + i * d, packedK, packedV, maskSlot, d: d, sk: sk, dv: dv,
                                 probabilities: probabilities, outputSlot: outputSlot, into: out + (b * sq + i) * dv)
                    }
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

    /// One batch's keys as `Kᵀ` (`d` rows over the keys) and its values (`sk` rows), each row
    /// 16 lanes wide and zero-padded, so ``shortRow`` loads whole vectors that never run past
    /// an operand.
    @inline(__always)
    private func packShort(_ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, d: Int, sk: Int, dv: Int,
                           keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        keys.update(repeating: 0, count: 16 * d)
        for c in 0..<d {
            for j in 0..<sk { keys[c * 16 + j] = keysTransposed ? k[c * sk + j] : k[j * d + c] }
        }
        values.update(repeating: 0, count: 16 * sk)
        for j in 0..<sk { (values + j * 16).update(from: v + j * dv, count: dv) }
    }

    /// One query row against at most 16 keys with values at most 16 wide: scores, softmax and
    /// the weighted sum of values stay in registers (tiny heads are the common case for the
    /// models served here). Operands come packed (``packShort``); single lanes go through
    /// memory slots rather than variable lane inserts, which compile to stack round trips.
    @inline(__always)
    private func shortRow(_ q: UnsafePointer<Float>, _ keys: UnsafePointer<Float>, _ values: UnsafePointer<Float>,
                          _ maskSlot: UnsafePointer<Float>, d: Int, sk: Int, dv: Int,
                          probabilities: UnsafeMutablePointer<Float>, outputSlot: UnsafeMutablePointer<Float>,
                          into y: UnsafeMutablePointer<Float>) {
        typealias Vector = SIMD16<Float>
        var scores = Vector(repeating: 0)
        for c in 0..<d { scores = scores.addingProduct(Vector(repeating: q[c]), FastMath.load(keys + c * 16)) }
        // The slot adds the mask and sends lanes past the last key to -inf.
        scores = scores * scale + FastMath.load(maskSlot)
        let maximum = FastMath.maximum(scores)
        guard maximum > -Float.infinity || maximum.isNaN else {
            // Every key masked: the unfused Softmax yields NaN (−inf − −inf); so does this.
            y.update(repeating: .nan, count: dv)
            return
        }
        let p = FastMath.exp(scores - Vector(repeating: maximum))
        FastMath.store(p, probabilities)
        var acc = Vector(repeating: 0)
        for j in 0..<sk { acc = acc.addingProduct(Vector(repeating: probabilities[j]), FastMath.load(values + j * 16)) }
        FastMath.store(acc * Vector(repeating: 1 / FastMath.sum(p)), outputSlot)
        y.update(from: outputSlot, count: dv)
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
