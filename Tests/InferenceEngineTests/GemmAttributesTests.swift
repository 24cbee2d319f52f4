import Testing
@testable import InferenceEngine

/// `.gemm` nodes with the fused attributes (activation, residual, flattenA, bias through the
/// epilogue or broadcast), run through `NodeExecutor` against a double-precision reference.
@Suite("Gemm attributes")
struct GemmAttributesTests {
    struct Case: CustomStringConvertible {
        var m = 5, n = 19, k = 23
        var leading: [Int]? = nil          // flattenA: A's leading dims (product = m)
        var alpha: Float = 1, beta: Float = 1
        var transA = false, transB = false
        var constantB = true
        var cShape: [Int]? = nil
        var activation = EpilogueActivation.none
        var residual: Bool? = nil          // nil: none; true: before activation; false: after
        var description: String {
            "m\(m) n\(n) k\(k) leading \(leading.map { "\($0)" } ?? "-") alpha \(alpha) beta \(beta) tA \(transA) tB \(transB) "
                + "const \(constantB) C \(cShape.map { "\($0)" } ?? "-") \(activation) residual \(residual.map { "\($0)" } ?? "-")"
        }
    }

    static let cases: [Case] = [
        Case(),
        Case(cShape: [19]),                                           // bias through the epilogue
        Case(cShape: [1, 19], activation: .relu),
        Case(beta: 0.5, cShape: [19], activation: .tanh),             // beta ≠ 1: broadcast path
        Case(cShape: [5, 1], activation: .sigmoid),                   // per-row C: broadcast path
        Case(cShape: [5, 19], activation: .gelu(approximateTanh: false)),
        Case(cShape: [], activation: .leakyRelu(alpha: 0.2)),         // scalar C
        Case(alpha: 0.5, transA: true, transB: true, cShape: [19], activation: .clip(min: -1, max: 1)),
        Case(transB: true, constantB: false, cShape: [19], activation: .gelu(approximateTanh: true)),
        Case(constantB: false, cShape: [1, 19], activation: .relu, residual: true),
        Case(cShape: [19], activation: .relu, residual: true),
        Case(cShape: [19], activation: .sigmoid, residual: false),
        Case(m: 1, n: 40, k: 9, cShape: [40], activation: .tanh, residual: false),
        Case(m: 6, n: 33, k: 17, leading: [2, 3], cShape: [33], activation: .relu),
        Case(m: 12, n: 16, k: 130, leading: [3, 2, 2], cShape: [1, 16], activation: .gelu(approximateTanh: false), residual: true),
        Case(m: 1, n: 24, k: 8, leading: [], cShape: [24]),          // 1-D A: Y is [N]
        Case(m: 4, n: 20, k: 6, leading: [4], constantB: false, residual: false),
    ]

    @Test(arguments: cases)
    func matchesReference(_ c: Case) throws {
        var rng = SplitMix64(seed: UInt64(c.m * 7919 + c.n * 31 + c.k))
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 } }
        let a = random(c.m * c.k), b = random(c.k * c.n)
        let cValues = c.cShape.map { random(ShapeMath.product($0, 0..<$0.count)) }
        let residual = random(c.m * c.n)

        // Operands as stored: A' and B' transposed back when the node transposes them.
        let aStored = c.transA ? GemmKernel.transposed(a, rows: c.m, cols: c.k) : a
        let bStored = c.transB ? GemmKernel.transposed(b, rows: c.k, cols: c.n) : b
        let aShape = c.leading.map { $0 + [c.k] } ?? (c.transA ? [c.k, c.m] : [c.m, c.k])
        let bShape = c.transB ? [c.n, c.k] : [c.k, c.n]
        let bTensor = Tensor(shape: bShape, scalars: bStored)
        let outShape = c.leading.map { $0 + [c.n] } ?? [c.m, c.n]

        let attributes = GemmAttributes(alpha: c.alpha, beta: c.beta, transA: c.transA, transB: c.transB,
                                        constantB: c.constantB ? bTensor : nil, activation: c.activation,
                                        residual: c.residual != nil, residualBeforeActivation: c.residual ?? false,
                                        flattenA: c.leading != nil)
        var inputs: [Tensor?] = [Tensor(shape: aShape, scalars: aStored), c.constantB ? nil : bTensor]
        inputs.append(c.cShape.map { Tensor(shape: $0, scalars: cValues!) })
        if c.residual != nil { inputs.append(Tensor(shape: outShape, scalars: residual)) }
        let got = try Self.run(attributes, inputs)

        #expect(got.shape == outShape)
        var expected = [Float](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = 0.0
                for p in 0..<c.k { s += Double(a[i * c.k + p]) * Double(b[p * c.n + j]) }
                var v = Float(Double(c.alpha) * s)
                if let shape = c.cShape, let values = cValues {
                    let padded = [Int](repeating: 1, count: 2 - shape.count) + shape
                    v += c.beta * values[(padded[0] == 1 ? 0 : i) * padded[1] + (padded[1] == 1 ? 0 : j)]
                }
                if c.residual == true { v += residual[i * c.n + j] }
                v = c.activation.apply(v)
                if c.residual == false { v += residual[i * c.n + j] }
                expected[i * c.n + j] = v
            }
        }
        assertClose(got.scalars, expected, context: "\(c)", rtol: 1e-5, atol: 1e-5)
    }

    @Test func residualOfTheWrongShapeIsRefused() throws {
        let attributes = GemmAttributes(residual: true)
        let a = Tensor(shape: [2, 3], scalars: [Float](repeating: 1, count: 6))
        let b = Tensor(shape: [3, 4], scalars: [Float](repeating: 1, count: 12))
        #expect(throws: InferenceError.self) {
            _ = try Self.run(attributes, [a, b, nil, Tensor(shape: [4, 2], scalars: [Float](repeating: 0, count: 8))])
        }
        #expect(throws: InferenceError.self) { _ = try Self.run(attributes, [a, b, nil]) }
        let flat = GemmAttributes(constantB: b, flattenA: true)
        #expect(throws: InferenceError.self) { _ = try Self.run(flat, [Tensor(shape: [2, 2, 4], scalars: [Float](repeating: 1, count: 16)), nil]) }
    }

    /// The node's execution context carries the model's pool down to the kernel.
    @Test func largeGemmSplitsOverTheContextPool() throws {
        let (m, n, k) = (96, 256, 128)
        let b = Tensor(shape: [k, n], scalars: (0..<(k * n)).map { Float($0 % 13) / 13 })
        let a = Tensor(shape: [m, k], scalars: (0..<(m * k)).map { Float($0 % 7) / 7 })
        let attributes = GemmAttributes(constantB: b)
        let pool = IntraOpPool(threadCount: 2)
        let serial = try Self.run(attributes, [a, nil])
        let parallel = try Self.run(attributes, [a, nil], context: ExecutionContext(pool: pool))
        #expect(pool.jobCount == 1)
        #expect(serial.scalars == parallel.scalars)
    }

    /// `MatMul` with a constant 2-D weight compiles to a flattened, packed Gemm.
    @Test func matMulWithConstantWeightCompilesToPackedGemm() throws {
        // Unoptimized, so the compiler's own rewrite is what is seen (the optimizer goes on to
        // rename and fuse these nodes).
        let model = try Model(contentsOf: repoPath(zooCases.first { $0.fixture.name.contains("token_classifier") }!.fixture.model),
                              options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: .none))
        let matMuls = model.graphForTesting.nodes.filter { $0.opType == "MatMul" }
        let packed = matMuls.filter { if case .gemm(let g) = $0.operation { g.flattenA && g.packedB != nil } else { false } }
        #expect(!packed.isEmpty)
    }

    static func run(_ attributes: GemmAttributes, _ inputs: [Tensor?], context: ExecutionContext = .serial) throws(InferenceError) -> Tensor {
        let node = CompiledNode(name: "gemm", opType: "Gemm", operation: .gemm(attributes), inputs: [], outputs: [0])
        return try NodeExecutor(node: node, context: context).runSingle(inputs)
    }
}
