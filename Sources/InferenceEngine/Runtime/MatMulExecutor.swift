/// numpy `matmul` semantics on top of ``GemmKernel``: 1-D promotion, broadcast batch dims.
struct MatMulExecutor {
    let node: NodeExecutor

    func run(_ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int]) throws(InferenceError) -> Tensor {
        var aDims = aShape, bDims = bShape
        let aVector = aDims.count == 1, bVector = bDims.count == 1
        if aVector { aDims.insert(1, at: 0) }
        if bVector { bDims.append(1) }
        let m = aDims[aDims.count - 2], k = aDims[aDims.count - 1]
        let kb = bDims[bDims.count - 2], n = bDims[bDims.count - 1]
        guard k == kb else {
            throw node.invalid("inner dimensions do not match: \(aShape.shapeDescription) × \(bShape.shapeDescription)")
        }
        let aBatch = Array(aDims.dropLast(2)), bBatch = Array(bDims.dropLast(2))
        guard let batch = Broadcast.shape(aBatch, bBatch) else {
            throw node.invalid("batch dimensions of \(aShape.shapeDescription) and \(bShape.shapeDescription) cannot be broadcast")
        }
        var outShape = batch
        if !aVector { outShape.append(m) }
        if !bVector { outShape.append(n) }
        _ = try node.checkedCount(batch + [m, n])
        let batchCount = ShapeMath.product(batch, 0..<batch.count)
        let total = batchCount * m * n

        // Per-batch offsets into A and B (broadcast dims repeat the same matrix).
        let aStrides = Self.batchStrides(aBatch, rank: batch.count, matrix: m * k)
        let bStrides = Self.batchStrides(bBatch, rank: batch.count, matrix: k * n)
        let pool = node.context.pool
        let y = node.outputFloats(total) { out, initialized in
            if total > 0 { out.baseAddress!.initialize(repeating: 0, count: total) }
            initialized = total
            guard total > 0, k > 0 else { return }
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let pA = pa.baseAddress!, pB = pb.baseAddress!, pY = out.baseAddress!
                    if bBatch.allSatisfy({ $0 == 1 }) && aStrides.allSatisfy({ $0 != 0 }) {
                        // B is one matrix and A's batches are contiguous: one tall GEMM.
                        GemmKernel.multiplyAccumulate(m: batchCount * m, n: n, k: k, alpha: 1, a: pA, lda: k, b: pB, ldb: n, c: pY, ldc: n,
                                                      pool: pool)
                        return
                    }
                    var index = [Int](repeating: 0, count: batch.count)
                    for i in 0..<batchCount {
                        var offA = 0, offB = 0
                        for d in 0..<batch.count { offA += index[d] * aStrides[d]; offB += index[d] * bStrides[d] }
                        GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: 1, a: pA + offA, lda: k, b: pB + offB, ldb: n,
                                                      c: pY + i * m * n, ldc: n, pool: pool)
                        var d = batch.count - 1
                        while d >= 0 { index[d] += 1; if index[d] < batch[d] { break }; index[d] = 0; d -= 1 }
                    }
                }
            }
        }
        return Tensor(shape: outShape, storage: .float32(y))
    }

    /// Element strides of an operand's batch dims aligned to the broadcast batch rank; 0 where
    /// the operand broadcasts.
    static func batchStrides(_ dims: [Int], rank: Int, matrix: Int) -> [Int] {
        var strides = [Int](repeating: 0, count: rank)
        var s = matrix
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            let d = i + rank - dims.count
            strides[d] = dims[i] == 1 ? 0 : s
            s *= dims[i]
        }
        return strides
    }
}
