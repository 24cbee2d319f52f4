import Foundation
import Testing
@testable import InferenceEngine

@Suite("Per-shape execution plans")
struct PlannedExecutionTests {
    static func load(_ path: String, _ level: OptimizationLevel, planned: Bool) throws -> Model {
        try Model(contentsOf: repoPath(path),
                  options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: level, plannedExecution: planned))
    }

    /// The planned runs (from the second request of a shape on) give what the general executor
    /// gives, at every optimization level, and still match onnxruntime.
    @Test("planned runs agree with the general executor on the whole fixture zoo", arguments: zooCases)
    func plannedAgrees(_ zoo: ZooCase) throws {
        let inputs = zoo.fixture.inputs.mapValues(\.tensor)
        for level in [OptimizationLevel.none, .all] {
            let reference = try Self.load(zoo.fixture.model, level, planned: false).run(inputs)
            let model = try Self.load(zoo.fixture.model, level, planned: true)
            let ordered = model.inputs.map { inputs[$0.name]! }
            for run in 0..<3 {
                let results = try model.run(inputs)
                #expect(results.count == reference.count)
                for (got, expected) in zip(results, reference) {
                    #expect(got.shape == expected.shape, "\(zoo) at \(level), run \(run)")
                    #expect(got.elementType == expected.elementType, "\(zoo) at \(level), run \(run)")
                    if expected.elementType == .float32 {
                        assertClose(got.scalars, expected.scalars, context: "\(zoo) at \(level), run \(run)", rtol: zoo.rtol, atol: zoo.atol)
                    } else {
                        #expect(got.storage.int64Values == expected.storage.int64Values, "\(zoo) at \(level), run \(run)")
                    }
                }
            }
            // Every zoo graph plans, except control flow (the Keras GRU is a Loop).
            switch model.graphForTesting.planEntry(for: ordered) {
            case .plan?: break
            case .refused(_, let why)?: #expect(why.description.hasPrefix("Loop "), "\(zoo) at \(level) is not planned: \(why)")
            case nil: Issue.record("\(zoo) at \(level): no plan entry after three runs")
            }
        }
    }
}

@Suite("Fused attention at the edges of masking")
struct AttentionMaskEdgeTests {
    /// Sequence 0 fully padded (every key masked: the unfused Softmax gives NaN, so must the
    /// fused kernel), sequence 1 partly padded, sequence 2 not at all: the fused and unfused
    /// graphs agree, planned and not, over short rows (5 keys) and long ones (20 keys).
    @Test(arguments: [5, 20])
    func fusedMatchesUnfused(_ seq: Int) throws {
        let path = "Tests/Fixtures/zoo/encoder_padding_dynamo/model.onnx"
        var rng = SplitMix64(seed: UInt64(seq))
        let x = Tensor(shape: [3, seq, 16], scalars: (0..<(3 * seq * 16)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 500 })
        let mask = Tensor(shape: [3, seq], bools: (0..<(3 * seq)).map { i in i < seq || (i >= seq && i < 2 * seq && i % seq >= 2) })
        let inputs = ["x": x, "padding_mask": mask]
        let reference = try PlannedExecutionTests.load(path, .none, planned: false).run(inputs)[0].scalars
        // Two threads share the (batch, head) matrices of the longer sequences.
        for planned in [false, true] {
            for threads in [1, 2] {
            let model = try Model(contentsOf: repoPath(path),
                                  options: ModelOptions(optimization: .all, intraOpThreads: threads, plannedExecution: planned))
            for _ in 0..<2 {
                let got = try model.run(inputs)[0].scalars
                #expect(got.count == reference.count)
                let sameNaNs = zip(got, reference).allSatisfy { $0.isNaN == $1.isNaN }
                let paddedIsNaN = got.prefix(seq * 16).allSatisfy(\.isNaN)
                #expect(sameNaNs, "NaN rows differ (planned: \(planned))")
                #expect(paddedIsNaN, "a fully padded sequence must give NaN, as unfused")
                assertClose(got, reference, context: "seq \(seq), planned \(planned), threads \(threads)", rtol: 1e-4, atol: 1e-5)
            }
            }
        }
    }
}

@Suite("Plans skip data movement only shapes read")
struct ShapeOnlyReaderTests {
    /// A Transpose read only by a `Shape` does not run in a plan; a Gather read only by a
    /// `Shape` still does, since its indices come with the request and a bad one must be refused
    /// planned or not.
    @Test func skippedAndKeptNodes() throws {
        let model = TinyModel(nodes: [
            .init(op: "Gather", inputs: ["x", "idx"], outputs: ["g"], attributes: [("axis", .int(0))]),
            .init(op: "Transpose", inputs: ["x"], outputs: ["t"], attributes: [("perm", .ints([1, 0]))]),
            .init(op: "Shape", inputs: ["t"], outputs: ["st"]),
            .init(op: "Shape", inputs: ["g"], outputs: ["sg"]),
            .init(op: "Reshape", inputs: ["x", "st"], outputs: ["y"]),
            .init(op: "Reshape", inputs: ["x", "sg"], outputs: ["z"]),
        ], inputs: [("x", TinyModel.float, [2, 3]), ("idx", TinyModel.int64, [2])], outputs: ["y", "z"])
        let planned = try model.load(planned: true, level: .none)
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let good = ["x": x, "idx": Tensor(shape: [2], int64s: [1, 0])]
        for _ in 0..<2 {
            let out = try planned.run(good)
            #expect(out[0].shape == [3, 2] && out[1].shape == [2, 3] && out[0].scalars == x.scalars)
        }
        let ops = try planned.profile(good, runs: 1).map(\.opType)
        #expect(ops.contains("Gather") && !ops.contains("Transpose"), "\(ops)")
        #expect(throws: InferenceError.self) { try planned.run(["x": x, "idx": Tensor(shape: [2], int64s: [0, 5])]) }
    }
}
