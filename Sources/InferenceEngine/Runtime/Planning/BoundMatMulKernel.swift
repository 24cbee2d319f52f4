/// numpy `matmul` bound to one plan's shapes: the batch offsets of both operands are listed
/// once, and B copies go to the plan's scratch space.
final class BoundMatMulKernel: BoundKernel {
    let m: Int, n: Int, k: Int
    /// Per output matrix, the element offsets of its A and B matrices; empty when B is one
    /// matrix and A's batches are contiguous (then it is one tall GEMM).
    let aOffsets: [Int], bOffsets: [Int]
    let batchCount: Int
    let scratchBytes: Int

    init?(aShape: [Int], bShape: [Int]) {
        var aDims = aShape, bDims = bShape
        if aDims.count == 1 { aDims.insert(1, at: 0) }
        if bDims.count == 1 { bDims.append(1) }
        guard aDims.count >= 2, bDims.count >= 2 else { return nil }
        m = aDims[aDims.count - 2]
        k = aDims[aDims.count - 1]
        n = bDims[bDims.count - 1]
        guard bDims[bDims.count - 2] == k else { return nil }
        let aBatch = Array(aDims.dropLast(2)), bBatch = Array(bDims.dropLast(2))
        guard let batch = Broadcast.shape(aBatch, bBatch) else { return nil }
        batchCount = ShapeMath.product(batch, 0..<batch.count)
        let aStrides = MatMulExecutor.batchStrides(aBatch, rank: batch.count, matrix: m * k)
        let bStrides = MatMulExecutor.batchStrides(bBatch, rank: batch.count, matrix: k * n)
        if bBatch.allSatisfy({ $0 == 1 }) && aStrides.allSatisfy({ $0 != 0 }) {
            aOffsets = []
            bOffsets = []
            scratchBytes = GemmKernel.workspaceFloats(m: batchCount * m, n: n, k: k) * MemoryLayout<Float>.stride
        } else {
            var aOffsets: [Int] = [], bOffsets: [Int] = []
            var index = [Int](repeating: 0, count: batch.count)
            for _ in 0..<batchCount {
                var offA = 0, offB = 0
                for d in 0..<batch.count { offA += index[d] * aStrides[d]; offB += index[d] * bStrides[d] }
                aOffsets.append(offA)
                bOffsets.append(offB)
                var d = batch.count - 1
                while d >= 0 { index[d] += 1; if index[d] < batch[d] { break }; index[d] = 0; d -= 1 }
            }
            self.aOffsets = aOffsets
            self.bOffsets = bOffsets
            scratchBytes = GemmKernel.workspaceFloats(m: m, n: n, k: k) * MemoryLayout<Float>.stride
        }
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        let y: UnsafeMutablePointer<Float> = io.output(0)
        let total = batchCount * m * n
        guard total > 0 else { return }
        guard k > 0 else { y.update(repeating: 0, count: total); return }
        let a: UnsafePointer<Float> = io.input(0), b: UnsafePointer<Float> = io.input(1)
        let workspace = scratchBytes > 0 ? io.scratch(as: Float.self) : nil
        if aOffsets.isEmpty {
            GemmKernel.multiplyAccumulate(m: batchCount * m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, c: y, ldc: n,
                                          beta: 0, pool: context.pool, workspace: workspace)
            return
        }
        for i in 0..<batchCount {
            GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: 1, a: a + aOffsets[i], lda: k, b: b + bOffsets[i], ldb: n,
                                          c: y + i * m * n, ldc: n, beta: 0, pool: context.pool, workspace: workspace)
        }
    }
}
