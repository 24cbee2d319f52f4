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

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (q, qShape) = try node.floats(inputs[0])
        let (k, kShape) = try node.floats(inputs[1])
        let (v, vShape) = try node.floats(inputs[2])
        let mask = hasMask ? try node.floats(inputs[3]) : nil
        guard qShape.count >= 2, kShape.count >= 2, vShape.count >= 2 else {
            throw node.invalid("Q, K and V must have rank ≥ 2, got \(qShape.shapeDescription), \(kShape.shapeDescription), \(vShape.shapeDescription)")
        }
        let sq = qShape[qShape.count - 2], d = qShape[qShape.count - 1]
        let sk = keysTransposed ? kShape[kShape.count - 1] : kShape[kShape.count - 2]
        let kd = keysTransposed ? kShape[kShape.count - 2] : kShape[kShape.count - 1]
        let dv = vShape[vShape.count - 1]
        guard kd == d, vShape[vShape.count - 2] == sk else {
            throw node.invalid("attention shapes do not match: Q \(qShape.shapeDescription), K \(kShape.shapeDescription), V \(vShape.shapeDescription)")
        }
        // Leading (batch, head) dimensions broadcast across all operands, as the MatMuls did.
        var maskShape = mask?.shape ?? []
        while maskShape.count < 2 { maskShape.insert(1, at: 0) }
        if hasMask {
            let rows = maskShape[maskShape.count - 2], cols = maskShape[maskShape.count - 1]
            guard rows == 1 || rows == sq, cols == 1 || cols == sk else {
                throw node.invalid("mask \(maskShape.shapeDescription) does not broadcast to [\(sq), \(sk)] scores")
            }
        }
        let leads = [Array(qShape.dropLast(2)), Array(kShape.dropLast(2)), Array(vShape.dropLast(2)), Array(maskShape.dropLast(2))]
        var lead: [Int] = []
        for l in leads.prefix(hasMask ? 4 : 3) {
            guard let b = Broadcast.shape(lead, l) else {
                throw node.invalid("batch dimensions of Q \(qShape.shapeDescription), K \(kShape.shapeDescription), V \(vShape.shapeDescription) do not broadcast")
            }
            lead = b
        }
        let outShape = lead + [sq, dv]
        let total = try node.checkedCount(outShape)
        let batches = ShapeMath.product(lead, 0..<lead.count)
        let strides = [sq * d, sk * d, sk * dv, maskShape[maskShape.count - 2] * maskShape[maskShape.count - 1]]
        let offsets = (0..<4).map { Self.batchOffsets(leads[$0], lead: lead, matrix: strides[$0]) }
        let maskRowStride = maskShape[maskShape.count - 2] == 1 ? 0 : maskShape[maskShape.count - 1]
        let maskColStride = maskShape[maskShape.count - 1] == 1 ? 0 : 1

        let y = [Float](unsafeUninitializedCapacity: total) { out, initialized in
            initialized = total
            guard total > 0 else { return }
            let tile = Self.tile
            withUnsafeTemporaryAllocation(of: Float.self, capacity: tile + dv) { scratch in
                let scores = scratch.baseAddress!, acc = scratch.baseAddress! + tile
                q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
                (mask?.values ?? []).withUnsafeBufferPointer { pm in
                    for b in 0..<batches {
                        let qb = pq.baseAddress! + offsets[0][b], kb = pk.baseAddress! + offsets[1][b]
                        let vb = pv.baseAddress! + offsets[2][b]
                        let mb = hasMask ? pm.baseAddress! + offsets[3][b] : nil
                        for i in 0..<sq {
                            let qi = qb + i * d
                            let yi = out.baseAddress! + (b * sq + i) * dv
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
                                    runningSum *= correction
                                    for c in 0..<dv { acc[c] *= correction }
                                    for j in 0..<n {
                                        let p = expf(scores[j] - newMax)
                                        runningSum += p
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
                } } }
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
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
        let padded = [Int](repeating: 1, count: lead.count - dims.count) + dims
        var strides = [Int](repeating: 0, count: lead.count)
        var acc = matrix
        for i in stride(from: lead.count - 1, through: 0, by: -1) {
            strides[i] = padded[i] == 1 ? 0 : acc
            acc *= padded[i]
        }
        let count = ShapeMath.product(lead, 0..<lead.count)
        var offsets = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: lead.count)
        var offset = 0
        for b in 0..<count {
            offsets[b] = offset
            var axis = lead.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < lead[axis] { break }
                offset -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return offsets
    }
}
