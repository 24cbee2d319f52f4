import Testing
@testable import InferenceEngine

@Suite("Kernels")
struct KernelTests {
    /// Naive reference for the blocked GEMM, over shapes hitting every tile/tail path and more
    /// than one k block.
    @Test(arguments: [(1, 1, 1), (5, 17, 3), (4, 32, 129), (9, 50, 300), (33, 48, 7), (3, 15, 2)])
    func gemmMatchesNaive(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        var rng = SplitMix64(seed: UInt64(m * 1000 + n * 10 + k))
        func rand() -> Float { Float(Int(rng.next() % 2001) - 1000) / 1000 }
        let a = (0..<(m * k)).map { _ in rand() }
        let b = (0..<(k * n)).map { _ in rand() }
        var c = (0..<(m * n)).map { _ in rand() }
        var expected = c
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k { s += a[i * k + p] * b[p * n + j] }
            expected[i * n + j] += 0.5 * s
        } }
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                                          c: pc.baseAddress!, ldc: n)
        } } }
        assertClose(c, expected, context: "gemm \(dims)")
    }

    @Test func broadcastShapes() {
        #expect(Broadcast.shape([2, 1, 4], [3, 1]) == [2, 3, 4])
        #expect(Broadcast.shape([], [3]) == [3])
        #expect(Broadcast.shape([2, 3], [4]) == nil)
    }

    @Test func transposeRoundTrip() {
        let v = (0..<(37 * 70)).map(Float.init)
        #expect(GemmKernel.transposed(GemmKernel.transposed(v, rows: 37, cols: 70), rows: 70, cols: 37) == v)
    }
}
