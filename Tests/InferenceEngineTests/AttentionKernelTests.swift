import Foundation
import Testing
@testable import InferenceEngine

/// The fused attention kernel on its own, against a double-precision reference, over the
/// shapes that pick each of its paths: small heads (≤ 16 keys, ≤ 64 wide; rows in lanes, more
/// than 16 rows, output wider than 16), blocks of rows through GEMMs (heads wider than 64, or 17
/// to 256 keys) and key tiles (more than 256 keys); masks per row, broadcast over rows, and
/// none; bound and unbound.
@Suite("Attention kernel")
struct AttentionKernelTests {
    struct Shape: CustomStringConvertible {
        var batches: Int, sq: Int, sk: Int, d: Int, dv: Int
        var mask: MaskKind
        var description: String { "b\(batches) sq\(sq) sk\(sk) d\(d) dv\(dv) mask \(mask)" }
    }

    enum MaskKind: String { case none, perRow, broadcast }

    static let shapes: [Shape] = [
        Shape(batches: 3, sq: 5, sk: 5, d: 8, dv: 8, mask: .broadcast),
        Shape(batches: 2, sq: 1, sk: 1, d: 1, dv: 1, mask: .none),
        Shape(batches: 2, sq: 37, sk: 16, d: 7, dv: 33, mask: .perRow),
        Shape(batches: 1, sq: 17, sk: 3, d: 64, dv: 64, mask: .broadcast),
        Shape(batches: 2, sq: 6, sk: 9, d: 65, dv: 12, mask: .perRow),
        Shape(batches: 2, sq: 9, sk: 70, d: 12, dv: 5, mask: .perRow),
        Shape(batches: 4, sq: 4, sk: 20, d: 16, dv: 16, mask: .none),
        Shape(batches: 2, sq: 3, sk: 300, d: 5, dv: 3, mask: .perRow),
        Shape(batches: 1, sq: 2, sk: 257, d: 4, dv: 18, mask: .broadcast),
    ]

    /// softmax(scale·Q·Kᵀ + mask)·V in Double; a fully masked row is NaN, as the unfused graph gives.
    static func reference(_ s: Shape, q: [Float], k: [Float], v: [Float], mask: [Float], scale: Float) -> [Float] {
        var out = [Float](repeating: 0, count: s.batches * s.sq * s.dv)
        for b in 0..<s.batches {
            for i in 0..<s.sq {
                var scores = [Double](repeating: 0, count: s.sk)
                for j in 0..<s.sk {
                    var dot = 0.0
                    for c in 0..<s.d { dot += Double(q[(b * s.sq + i) * s.d + c]) * Double(k[(b * s.sk + j) * s.d + c]) }
                    let m: Float = switch s.mask {
                    case .none: 0
                    case .perRow: mask[(b * s.sq + i) * s.sk + j]
                    case .broadcast: mask[b * s.sk + j]
                    }
                    scores[j] = dot * Double(scale) + Double(m)
                }
                let top = scores.max()!
                let e = scores.map { Foundation.exp($0 - top) }
                let sum = e.reduce(0, +)
                for c in 0..<s.dv {
                    var acc = 0.0
                    for j in 0..<s.sk { acc += e[j] / sum * Double(v[(b * s.sk + j) * s.dv + c]) }
                    out[(b * s.sq + i) * s.dv + c] = Float(acc)
                }
            }
        }
        return out
    }

    @Test(arguments: shapes)
    func matchesTheReference(_ s: Shape) throws {
        var rng = SplitMix64(seed: UInt64(s.sq * 1000 + s.sk * 10 + s.d))
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 400 } }
        let q = values(s.batches * s.sq * s.d), k = values(s.batches * s.sk * s.d), v = values(s.batches * s.sk * s.dv)
        var inputs: [Tensor?] = [Tensor(shape: [s.batches, s.sq, s.d], scalars: q), Tensor(shape: [s.batches, s.sk, s.d], scalars: k),
                                 Tensor(shape: [s.batches, s.sk, s.dv], scalars: v)]
        var mask: [Float] = []
        if s.mask != .none {
            let rows = s.mask == .perRow ? s.sq : 1
            // Some keys masked out, and with per-row masks one row with every key masked.
            mask = (0..<(s.batches * rows * s.sk)).map { i in i % 7 == 3 ? -.infinity : Float(i % 5) / 4 }
            if s.mask == .perRow { for j in 0..<s.sk { mask[s.sk + j] = -.infinity } }
            inputs.append(Tensor(shape: [s.batches, rows, s.sk], scalars: mask))
        }
        let scale = 1 / Float(s.d).squareRoot()
        let kernel = AttentionKernel(scale: scale, keysTransposed: false, hasMask: s.mask != .none)
        let expected = Self.reference(s, q: q, k: k, v: v, mask: mask, scale: scale)
        for threads in [1, 2] {
            let context = ExecutionContext(pool: threads > 1 ? IntraOpPool(threadCount: threads) : nil)
            let (bound, dynamic, _) = try ConvPlanTests.planned(kernel, inputs, opType: "Attention", context: context)
            for (name, got) in [("general", dynamic[0]), ("bound", bound[0])] {
                #expect(got.shape == [s.batches, s.sq, s.dv])
                let values = got.scalars
                #expect(zip(values, expected).allSatisfy { $0.isNaN == $1.isNaN }, "\(s) \(name): NaN rows differ")
                assertClose(values.map { $0.isNaN ? 0 : $0 }, expected.map { $0.isNaN ? 0 : $0 },
                            context: "\(s) \(name), \(threads) threads", rtol: 1e-4, atol: 1e-5)
            }
            // Rows do not depend on each other: the bound result equals the general one bit for bit.
            #expect(bound[0].scalars.map(\.bitPattern) == dynamic[0].scalars.map(\.bitPattern), "\(s), \(threads) threads")
        }
    }
}
