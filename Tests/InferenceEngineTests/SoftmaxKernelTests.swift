import Foundation
import Testing
@testable import InferenceEngine

/// The vectorized softmax against a Double reference, for rows shorter than, equal to and
/// longer than one vector, contiguous and strided.
@Suite("Softmax kernel")
struct SoftmaxKernelTests {
    @Test(arguments: [(2, 1, 1), (3, 5, 1), (64, 4, 1), (7, 8, 1), (5, 9, 1), (2, 16, 1), (2, 17, 1), (1, 40, 1), (2, 5, 3), (2, 17, 20), (1, 3, 33)])
    func matchesDefinition(_ dims: (Int, Int, Int)) {
        let (outer, axis, inner) = dims
        var rng = SplitMix64(seed: UInt64(outer * 10_000 + axis * 100 + inner))
        let x = (0..<(outer * axis * inner)).map { _ in Float(Int(rng.next() % 4001) - 2000) / 100 }
        var expected = x
        for o in 0..<outer {
            for s in 0..<inner {
                let at = (0..<axis).map { o * axis * inner + $0 * inner + s }
                let m = at.map { Double(x[$0]) }.max()!
                let total = at.reduce(0.0) { $0 + exp(Double(x[$1]) - m) }
                for i in at { expected[i] = Float(exp(Double(x[i]) - m) / total) }
            }
        }
        var y = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            SoftmaxKernel.softmax(px.baseAddress!, py.baseAddress!, outer: outer, axis: axis, inner: inner)
        } }
        assertClose(y, expected, context: "softmax \(dims)", rtol: 1e-6, atol: 1e-7)
    }

    /// A batched request must get exactly its unbatched answer, so a row's result may not
    /// depend on how many rows are computed with it.
    @Test(arguments: [1, 3, 8, 9, 16, 21])
    func rowsAloneEqualRowsInABatch(_ axis: Int) {
        var rng = SplitMix64(seed: UInt64(axis))
        let rows = 5
        let x = (0..<(rows * axis)).map { _ in Float(Int(rng.next() % 4001) - 2000) / 300 }
        var batched = [Float](repeating: 0, count: x.count), alone = batched
        x.withUnsafeBufferPointer { px in
            batched.withUnsafeMutableBufferPointer { py in
                SoftmaxKernel.softmax(px.baseAddress!, py.baseAddress!, outer: rows, axis: axis, inner: 1)
            }
            alone.withUnsafeMutableBufferPointer { py in
                for r in 0..<rows {
                    SoftmaxKernel.softmax(px.baseAddress! + r * axis, py.baseAddress! + r * axis, outer: 1, axis: axis, inner: 1)
                }
            }
        }
        #expect(batched.map(\.bitPattern) == alone.map(\.bitPattern))
    }

    @Test func nanRowStaysNaNAndOthersDoNot() {
        let x: [Float] = [1, .nan, 3, 0, 1, 2]
        var y = [Float](repeating: 0, count: 6)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            SoftmaxKernel.softmax(px.baseAddress!, py.baseAddress!, outer: 2, axis: 3, inner: 1)
        } }
        #expect(y[0..<3].allSatisfy { $0.isNaN })
        #expect(abs(y[3..<6].reduce(0, +) - 1) < 1e-6)
    }
}
