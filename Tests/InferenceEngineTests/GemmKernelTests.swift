import Foundation
import Testing
@testable import InferenceEngine

/// The packed SGEMM, its epilogue and its parallel split, against a double-precision reference.
@Suite("Packed GEMM")
struct GemmKernelTests {
    /// Every path: M = 1 (GEMV), fewer rows than a tile, exactly one tile, ragged tiles, more
    /// than one row block (144); N below, at and around the 16/32 panel widths; K = 0, below,
    /// at and past the 128 slice depth. The last three are big enough to go parallel (rows,
    /// panels, GEMV).
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 17, 5), (1, 48, 129), (1, 100, 300), (2, 33, 7), (3, 15, 2), (5, 16, 128), (11, 31, 130),
        (12, 32, 128), (13, 47, 257), (25, 100, 3), (30, 64, 0), (150, 40, 140), (7, 1000, 1),
        (160, 130, 110), (20, 600, 200), (1, 600, 500),
    ]

    @Test(arguments: shapes)
    func matchesReference(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        var rng = SplitMix64(seed: UInt64(m * 1_000_003 + n * 1009 + k))
        let a = Self.random(m * k, &rng), b = Self.random(k * n, &rng), c0 = Self.random(m * n, &rng)
        let pool = IntraOpPool(threadCount: 2)
        let parallel = m * n * k >= GemmKernel.parallelThreshold || (m == 1 && k * n >= GemmKernel.parallelGemvThreshold)
        for (alpha, beta) in [(Float(1), Float(0)), (1, 1), (0.75, 0.5)] {
            let expected = Self.reference(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c0)
            for threads in [1, 2] {
                let jobsBefore = pool.jobCount
                let packed = Self.runPacked(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c0,
                                            pool: threads == 2 ? pool : nil)
                check(packed, expected, "packed \(dims) alpha \(alpha) beta \(beta) threads \(threads)")
                if threads == 2 { #expect((pool.jobCount > jobsBefore) == parallel, "parallel split for \(dims)") }
                var strided = c0
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in strided.withUnsafeMutableBufferPointer { pc in
                    GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress ?? Self.dummy, lda: k,
                                                  b: pb.baseAddress ?? Self.dummy, ldb: n, c: pc.baseAddress!, ldc: n,
                                                  beta: beta, pool: threads == 2 ? pool : nil)
                } } }
                check(strided, expected, "strided \(dims) alpha \(alpha) beta \(beta) threads \(threads)")
            }
        }
    }

    /// A row's result is bit-for-bit the same whatever rows share the call (GEMV, unpacked and
    /// packed A, strided B, parallel): batching requests must not change their answers.
    @Test func rowResultsDoNotDependOnTheBatch() {
        let (n, k) = (300, 333)
        var rng = SplitMix64(seed: 3)
        let a = Self.random(60 * k, &rng), b = Self.random(k * n, &rng), bias = Self.random(n, &rng)
        let pool = IntraOpPool(threadCount: 2)
        bias.withUnsafeBufferPointer { pBias in
        var epilogue = GemmEpilogue()
        epilogue.activation = .gelu(approximateTanh: false)
        epilogue.bias = pBias.baseAddress
        let alone = Self.runPacked(m: 1, n: n, k: k, alpha: 1, a: Array(a[0..<k]), b: b, beta: 0, c: [], epilogue: epilogue, pool: nil)
        for m in [2, 5, 13, 60] {
            for threaded in [false, true] {
                let batch = Self.runPacked(m: m, n: n, k: k, alpha: 1, a: Array(a[0..<(m * k)]), b: b, beta: 0, c: [],
                                           epilogue: epilogue, pool: threaded ? pool : nil)
                #expect(Array(batch[0..<n]) == alone, "m = \(m), threaded \(threaded)")
            }
            var strided = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in strided.withUnsafeMutableBufferPointer { pc in
                GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                                              c: pc.baseAddress!, ldc: n, beta: 0, epilogue: epilogue)
            } } }
            #expect(Array(strided[0..<n]) == alone, "strided, m = \(m)")
        }
        }
    }

    /// The 12 × 32 register tile and its AVX2 sub-tiles (at most 6 rows × 16 columns, GEMV over
    /// two panels instead of four) give bit-identical results on every path: GEMV, packed and
    /// unpacked A, packed and strided B, ragged edges, K slices, column and row bias, residual
    /// and activation.
    @Test(arguments: shapes)
    func registerTilingsAgreeBitForBit(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        var rng = SplitMix64(seed: UInt64(m * 7919 + n * 31 + k))
        let a = Self.random(m * k, &rng), b = Self.random(k * n, &rng), c0 = Self.random(m * n, &rng)
        let columnBias = Self.random(n, &rng), rowBias = Self.random(m, &rng), residual = Self.random(m * n, &rng)
        columnBias.withUnsafeBufferPointer { pColumn in rowBias.withUnsafeBufferPointer { pRow in
        residual.withUnsafeBufferPointer { pResidual in
            for perRow in [false, true] {
                var epilogue = GemmEpilogue()
                epilogue.activation = .tanh
                epilogue.bias = perRow ? pRow.baseAddress : pColumn.baseAddress
                epilogue.biasPerRow = perRow
                epilogue.residual = pResidual.baseAddress
                epilogue.residualStride = n
                let packed = b.withUnsafeBufferPointer { PackedMatrix(rows: k, columns: n, from: $0.baseAddress ?? Self.dummy, ldb: n) }
                var results: [[Float]] = []
                for tiling in RegisterTiling.allCases {
                    var fromPacked = c0, fromStrided = c0
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                        fromPacked.withUnsafeMutableBufferPointer { pc in
                            GemmKernel.multiply(m: m, n: n, k: k, alpha: 0.75, a: pa.baseAddress ?? Self.dummy, lda: k, b: packed,
                                                beta: 0.5, c: pc.baseAddress!, ldc: n, epilogue: epilogue, tiling: tiling)
                        }
                        fromStrided.withUnsafeMutableBufferPointer { pc in
                            GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: 0.75, a: pa.baseAddress ?? Self.dummy, lda: k,
                                                          b: pb.baseAddress ?? Self.dummy, ldb: n, c: pc.baseAddress!, ldc: n,
                                                          beta: 0.5, epilogue: epilogue, tiling: tiling)
                        }
                    } }
                    results.append(fromPacked)
                    results.append(fromStrided)
                }
                let samePacked = results[0] == results[2], sameStrided = results[1] == results[3]
                #expect(samePacked, "packed B \(dims), row bias \(perRow): wide and compact tiles differ")
                #expect(sameStrided, "strided B \(dims), row bias \(perRow): wide and compact tiles differ")
                var expected = Self.reference(m: m, n: n, k: k, alpha: 0.75, a: a, b: b, beta: 0.5, c: c0)
                for i in 0..<m {
                    for j in 0..<n {
                        let e = expected[i * n + j] + (perRow ? rowBias[i] : columnBias[j])
                        expected[i * n + j] = Float(tanh(Double(e))) + residual[i * n + j]
                    }
                }
                check(results[2], expected, "compact \(dims), row bias \(perRow)", extra: 1e-5)
            }
        } } }
    }

    /// Leading dimensions larger than the row length (sub-matrices) are honoured.
    @Test func stridedOperands() {
        let (m, n, k) = (14, 37, 20), lda = 25, ldb = 41, ldc = 40
        var rng = SplitMix64(seed: 7)
        let a = Self.random(m * lda, &rng), b = Self.random(k * ldb, &rng)
        var c = [Float](repeating: 9, count: m * ldc)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            let packed = PackedMatrix(rows: k, columns: n, from: pb.baseAddress!, ldb: ldb)
            GemmKernel.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, b: packed, beta: 0, c: pc.baseAddress!, ldc: ldc)
        } } }
        for i in 0..<m {
            for j in 0..<ldc {
                if j >= n { #expect(c[i * ldc + j] == 9, "column \(j) past n was written"); continue }
                var s = 0.0
                for p in 0..<k { s += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                #expect(abs(Double(c[i * ldc + j]) - s) <= 1e-4, "(\(i), \(j))")
            }
        }
    }

    /// Every combination of bias (none, per column, per row), activation and residual (none,
    /// before, after), on a ragged shape, a GEMV and a parallel one.
    @Test(arguments: [(13, 37, 20), (1, 45, 33), (40, 200, 300)])
    func epilogueCombinations(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        var rng = SplitMix64(seed: UInt64(m + n + k))
        let a = Self.random(m * k, &rng), b = Self.random(k * n, &rng), c0 = Self.random(m * n, &rng)
        let columnBias = Self.random(n, &rng), rowBias = Self.random(m, &rng), residual = Self.random(m * n, &rng)
        let activations: [EpilogueActivation] = [.none, .relu, .sigmoid, .tanh, .gelu(approximateTanh: false),
                                                 .gelu(approximateTanh: true), .leakyRelu(alpha: 0.1), .clip(min: -0.5, max: 0.75)]
        let pool = IntraOpPool(threadCount: 2)
        for activation in activations {
            for biasKind in 0..<3 {
                for residualKind in 0..<3 {
                    for beta in [Float(0), 1] {
                        let base = Self.reference(m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: beta, c: c0)
                        var expected = base
                        for i in 0..<m {
                            for j in 0..<n {
                                var v = base[i * n + j]
                                if biasKind == 1 { v += columnBias[j] } else if biasKind == 2 { v += rowBias[i] }
                                if residualKind == 1 { v += residual[i * n + j] }
                                v = activation.apply(v)
                                if residualKind == 2 { v += residual[i * n + j] }
                                expected[i * n + j] = v
                            }
                        }
                        var got = c0
                        columnBias.withUnsafeBufferPointer { pcb in rowBias.withUnsafeBufferPointer { prb in
                        residual.withUnsafeBufferPointer { pr in
                            var epilogue = GemmEpilogue()
                            epilogue.activation = activation
                            if biasKind == 1 { epilogue.bias = pcb.baseAddress }
                            if biasKind == 2 { epilogue.bias = prb.baseAddress; epilogue.biasPerRow = true }
                            if residualKind > 0 {
                                epilogue.residual = pr.baseAddress
                                epilogue.residualStride = n
                                epilogue.residualBeforeActivation = residualKind == 1
                            }
                            got = Self.runPacked(m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: beta, c: c0,
                                                 epilogue: epilogue, pool: pool)
                        } } }
                        check(got, expected, "\(dims) \(activation) bias \(biasKind) residual \(residualKind) beta \(beta)",
                              extra: 4e-6)
                    }
                }
            }
        }
    }

    /// The vector activations against libm over a wide range, within the documented bound.
    @Test func vectorActivationsMatchLibm() {
        let activations: [EpilogueActivation] = [.sigmoid, .tanh, .gelu(approximateTanh: false), .gelu(approximateTanh: true)]
        var x: [Float] = stride(from: Float(-30), through: 30, by: 0.01).map { $0 }
        x += [0, -0, 1e-6, -1e-6, 100, -100, 1e30, -1e30, .infinity, -.infinity, .nan]
        while x.count % 16 != 0 { x.append(0.5) }
        for activation in activations {
            for start in stride(from: 0, to: x.count, by: 16) {
                let v = SIMD16<Float>(x[start..<(start + 16)])
                let y = activation.apply(v)
                for lane in 0..<16 {
                    let exact = activation.apply(x[start + lane])
                    let bound = 2e-6 + 2e-6 * abs(exact)
                    let same = y[lane] == exact || (y[lane].isNaN && exact.isNaN)
                    #expect(same || abs(y[lane] - exact) <= bound, "\(activation)(\(x[start + lane])) = \(y[lane]), libm \(exact)")
                }
            }
        }
    }

    /// Several threads share one pool: whoever finds it busy runs alone, and every result is right.
    @Test func concurrentCallersShareOnePool() async {
        let (m, n, k) = (64, 256, 160)
        var rng = SplitMix64(seed: 99)
        let a = Self.random(m * k, &rng), b = Self.random(k * n, &rng)
        let expected = Self.reference(m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: [Float](repeating: 0, count: m * n))
        let pool = IntraOpPool(threadCount: 2)
        let packed = b.withUnsafeBufferPointer { PackedMatrix(rows: k, columns: n, from: $0.baseAddress!, ldb: n) }
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    var bad = 0
                    for _ in 0..<5 {
                        var c = [Float](repeating: .nan, count: m * n)
                        a.withUnsafeBufferPointer { pa in c.withUnsafeMutableBufferPointer { pc in
                            GemmKernel.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: packed, beta: 0,
                                                c: pc.baseAddress!, ldc: n, pool: pool)
                        } }
                        for i in 0..<c.count where !(abs(c[i] - expected[i]) <= 1e-4) { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(pool.jobCount > 0)
    }

    /// A pool runs every task exactly once, with the caller taking part, and can be reused.
    @Test func poolRunsEveryTaskOnce() {
        let pool = IntraOpPool(threadCount: 3)
        for count in [0, 1, 2, 7, 100] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
            hits.initialize(repeating: 0, count: max(1, count))
            defer { hits.deallocate() }
            let box = UnsafeSendablePointer(hits)
            pool.parallelFor(count) { box.pointer[$0] += 1 }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "\(count) tasks")
        }
    }

    // MARK: Helpers

    nonisolated(unsafe) static let dummy: UnsafePointer<Float> = {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 16)
        p.initialize(repeating: 0, count: 16)
        return UnsafePointer(p)
    }()

    static func random(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
    }

    static func reference(m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float], beta: Float, c: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                out[i * n + j] = Float(Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c[i * n + j])))
            }
        }
        return out
    }

    static func runPacked(m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float], beta: Float, c: [Float],
                          epilogue: GemmEpilogue = GemmEpilogue(), pool: IntraOpPool?) -> [Float] {
        // beta = 0 must not read C: start from NaN so that a read shows up.
        var out = beta == 0 ? [Float](repeating: .nan, count: m * n) : c
        let packed = b.withUnsafeBufferPointer { PackedMatrix(rows: k, columns: n, from: $0.baseAddress ?? dummy, ldb: n) }
        a.withUnsafeBufferPointer { pa in out.withUnsafeMutableBufferPointer { pc in
            GemmKernel.multiply(m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress ?? dummy, lda: k, b: packed, beta: beta,
                                c: pc.baseAddress!, ldc: n, epilogue: epilogue, pool: pool)
        } }
        return out
    }

    func check(_ got: [Float], _ expected: [Float], _ context: String, extra: Float = 0) {
        assertClose(got, expected, context: context, rtol: 1e-5 + extra, atol: 2e-5 + extra)
    }
}

/// Lets a test's task closure write through a pointer it owns for the duration of the call.
struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int>
    init(_ pointer: UnsafeMutablePointer<Int>) { self.pointer = pointer }
}
