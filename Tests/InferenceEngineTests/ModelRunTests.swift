import Foundation
import Testing
@testable import InferenceEngine

@Suite("Model.run")
struct ModelRunTests {
    static let model = try! Model(contentsOf: repoPath("examples/models/credit_default/1/model.onnx"), outputTypes: Model.allOutputTypes)

    func features(_ batch: Int) -> Tensor {
        Tensor(shape: [batch, 10], scalars: (0..<(batch * 10)).map { Float($0 % 17) * 0.7 + 1 })
    }

    @Test func wrongRankIsInvalidInput() {
        #expect(throws: InferenceError.invalidInput("input 'features': expected shape [batch, 10] (rank 2), got [10] (rank 1)")) {
            try Self.model.run(["features": Tensor(shape: [10], scalars: [Float](repeating: 0, count: 10))])
        }
    }

    @Test func wrongFixedDimensionIsInvalidInput() {
        #expect(throws: InferenceError.invalidInput("input 'features': expected shape [batch, 10], got [3, 11] (dimension 1 must be 10)")) {
            try Self.model.run(["features": Tensor(shape: [3, 11], scalars: [Float](repeating: 0, count: 33))])
        }
    }

    @Test func missingAndUnknownInputs() {
        #expect(throws: InferenceError.invalidInput("missing input 'features' (expected shape [batch, 10])")) {
            try Self.model.run([:])
        }
        do {
            _ = try Self.model.run(["features": features(1), "extra": features(1)])
            Issue.record("expected failure")
        } catch {
            guard case .invalidInput(let message) = error else { Issue.record("wrong error"); return }
            #expect(message.contains("unknown input 'extra'"))
        }
    }

    @Test func symbolicDimensionMustBeConsistentAcrossInputs() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/add_symbolic_batch.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.inputs[0].dimensions == [.symbolic("batch"), .fixed(3)])
        #expect(model.outputs[0].dimensions == [.symbolic("batch"), .fixed(3)])
        do {
            _ = try model.run(["a": Tensor(shape: [2, 3], scalars: [Float](repeating: 1, count: 6)),
                               "b": Tensor(shape: [4, 3], scalars: [Float](repeating: 1, count: 12))])
            Issue.record("expected failure")
        } catch {
            guard case .invalidInput(let message) = error else { Issue.record("wrong error"); return }
            #expect(message.contains("input 'b'") && message.contains("[batch, 3]") && message.contains("[4, 3]"))
            #expect(message.contains("'batch' is 2 in input 'a' but 4 here"))
        }
    }

    @Test("output shape follows the request batch", arguments: [1, 2, 7, 100])
    func outputShapePerRequest(batch: Int) throws {
        let out = try Self.model.run(["features": features(batch)])
        #expect(out.count == 1)
        #expect(out[0].shape == [batch, 2])
        let p = out[0].scalars
        for row in 0..<batch { #expect(abs(p[2 * row] + p[2 * row + 1] - 1) < 1e-5) }
    }

    @Test func zeroBatchGivesEmptyOutput() throws {
        let out = try Self.model.run(["features": Tensor(shape: [0, 10], scalars: [])])
        #expect(out[0].shape == [0, 2])
    }

    @Test("concurrent run from several threads gives identical results")
    func concurrentRuns() async throws {
        let model = Self.model
        let input = features(64)
        let reference = try model.run(["features": input])[0].scalars
        try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var last: [Float] = []
                    for _ in 0..<50 { last = try model.run(["features": input])[0].scalars }
                    return last
                }
            }
            for try await result in group { #expect(result == reference) }
        }
        // Also from raw threads, outside the cooperative pool.
        // NSLock (a pthread mutex) rather than Synchronization.Mutex, which ThreadSanitizer on
        // Linux does not see as a lock and reports as a race.
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [[Float]] = []
        }
        let results = Results()
        let threads = (0..<4).map { _ in
            Thread {
                let r = (try? model.run(["features": input])[0].scalars) ?? []
                results.lock.withLock { results.values.append(r) }
            }
        }
        threads.forEach { $0.start() }
        while results.lock.withLock({ results.values.count }) < 4 { usleep(1000) }
        #expect(results.lock.withLock { results.values.allSatisfy { $0 == reference } })
    }

    @Test func runtimeShapeErrorInsideGraphNamesTheNode() throws {
        // MatMul whose K dims are two different symbols: fine at load, inconsistent per request.
        var graph = ProtoWriter()
        graph.message(1) { node in
            node.string(1, "a"); node.string(1, "b"); node.string(2, "y"); node.string(3, "mm"); node.string(4, "MatMul")
        }
        for (name, dims) in [("a", ["m", "k1"]), ("b", ["k2", "n"])] {
            graph.message(11) { info in
                info.string(1, name)
                info.message(2) { type in type.message(1) { tensor in
                    tensor.int(1, 1)
                    tensor.message(2) { shape in for d in dims { shape.message(1) { $0.string(2, d) } } }
                } }
            }
        }
        graph.message(12) { $0.string(1, "y") }
        var model = ProtoWriter()
        model.int(1, 8)
        model.message(8) { $0.int(2, 17) }
        model.message(7) { $0.bytes += graph.bytes }
        let m = try Model(bytes: model.bytes, modelDirectory: nil)
        #expect(m.outputs[0].dimensions == [.symbolic("m"), .symbolic("n")])
        let ok = try m.run(["a": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]),
                            "b": Tensor(shape: [3, 1], scalars: [1, 1, 1])])
        #expect(ok[0].scalars == [6, 15])
        #expect(throws: InferenceError.invalidInput("node 'mm' (MatMul): inner dimensions do not match: [3, 5] × [4, 5]")) {
            try m.run(["a": Tensor(shape: [3, 5], scalars: [Float](repeating: 0, count: 15)),
                       "b": Tensor(shape: [4, 5], scalars: [Float](repeating: 0, count: 20))])
        }
    }

    @Test func unsupportedOperatorMessage() {
        do {
            _ = try Model(contentsOf: repoPath("Tests/Fixtures/broken/unsupported_op.onnx"), outputTypes: Model.allOutputTypes)
        } catch {
            #expect(error.message.hasPrefix("unsupported operator 'Einsum' (node 'einsum1')"))
            #expect(error.description == error.message)
        }
    }

    @Test func missingFileIsALoadError() {
        #expect(throws: ModelLoadError.self) { try Model(contentsOf: "/nonexistent/model.onnx") }
    }
}

@Suite("Load-time description")
struct LoadTimeDescriptionTests {
    @Test func initializerListedAsInputIsNotAModelInput() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/initializer_as_input.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.inputs.map(\.name) == ["x"])
        #expect(model.parameterCount == 12)
    }

    @Test func undeclaredOutputShapesAreInferred() throws {
        let bcast = try Model(contentsOf: repoPath("Tests/Fixtures/ops/matmul_bcast.onnx"), outputTypes: Model.allOutputTypes)
        #expect(bcast.outputs[0].dimensions == [.fixed(2), .fixed(3), .fixed(3), .fixed(5)])
        let reshape = try Model(contentsOf: repoPath("Tests/Fixtures/ops/reshape_minus1_mid.onnx"), outputTypes: Model.allOutputTypes)
        #expect(reshape.outputs[0].dimensions == [.fixed(4), .fixed(3), .fixed(2)])
        let gemm = try Model(contentsOf: repoPath("Tests/Fixtures/ops/gemm_big_transB.onnx"), outputTypes: Model.allOutputTypes)
        #expect(gemm.outputs[0].dimensions == [.symbolic("batch"), .fixed(70)])
        let chain = try Model(contentsOf: repoPath("Tests/Fixtures/ops/mlp_chain.onnx"), outputTypes: Model.allOutputTypes)
        #expect(chain.outputs[0].dimensions == [.symbolic("batch"), .fixed(8)])
    }
}
