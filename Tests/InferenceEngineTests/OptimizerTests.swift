import Foundation
import Testing
@testable import InferenceEngine

@Suite("Graph optimizer")
struct OptimizerTests {
    static func load(_ path: String, _ level: OptimizationLevel) throws -> Model {
        try Model(contentsOf: repoPath(path), options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: level))
    }

    /// Every zoo case gives the same answers at every level (and each still matches
    /// onnxruntime, which ZooTests checks for the default level).
    @Test("optimized and unoptimized results agree on the whole fixture zoo", arguments: zooCases)
    func levelsAgree(_ zoo: ZooCase) throws {
        let inputs = zoo.fixture.inputs.mapValues(\.tensor)
        let reference = try Self.load(zoo.fixture.model, .none).run(inputs)
        for level in [OptimizationLevel.basic, .all] {
            let model = try Self.load(zoo.fixture.model, level)
            let results = try model.run(inputs)
            #expect(results.count == reference.count)
            for (got, expected) in zip(results, reference) {
                #expect(got.shape == expected.shape, "\(zoo) at \(level)")
                if expected.elementType == .float32 {
                    assertClose(got.scalars, expected.scalars, context: "\(zoo) at \(level)", rtol: zoo.rtol, atol: zoo.atol)
                } else {
                    #expect(got.storage.int64Values == expected.storage.int64Values, "\(zoo) at \(level)")
                }
            }
            // The fused graph also still matches onnxruntime.
            for (name, expected) in zoo.fixture.outputs where expected.dtype == "float32" {
                let index = try #require(model.outputs.firstIndex { $0.name == name })
                assertClose(results[index].scalars, expected.data, context: "\(zoo)/\(name) at \(level) vs onnxruntime",
                            rtol: zoo.rtol, atol: zoo.atol)
            }
        }
    }

    @Test("level none runs the graph as compiled")
    func noneChangesNothing() throws {
        let model = try Self.load("Tests/Fixtures/zoo/encoder_padding_legacy.onnx", .none)
        #expect(model.optimizationReport.isEmpty)
        #expect(!model.executionPlan.contains { $0.opType == "Attention" })
    }

    @Test("the transformer encoders get attention, GEMM epilogues and residual LayerNorm fusion", arguments: [
        "encoder_padding_legacy.onnx", "encoder_padding_dynamo/model.onnx", "encoder_causal_legacy.onnx",
        "encoder_causal_dynamo/model.onnx", "token_classifier_legacy.onnx",
    ])
    func transformerFusions(_ file: String) throws {
        let none = try Self.load("Tests/Fixtures/zoo/" + file, .none)
        let all = try Self.load("Tests/Fixtures/zoo/" + file, .all)
        let ops = all.executionPlan.filter { !$0.shapeOnly }.map(\.opType)
        #expect(ops.contains("Attention"), "\(file): \(ops)")
        // Two residual connections end in a GEMM epilogue or the LayerNormalization after them;
        // the feed-forward activation rides in the first linear layer's epilogue, and the bias
        // Adds in the GEMMs.
        #expect(ops.contains("AddLayerNormalization"), "\(file): \(ops)")
        #expect(ops.contains("FusedGemm"), "\(file): \(ops)")
        #expect(!ops.contains("Softmax") && !ops.contains("Erf") && !ops.contains("Gelu") && !ops.contains("MatMul"), "\(file): \(ops)")
        let before = none.executionPlan.filter { !$0.shapeOnly }.count
        #expect(ops.count < before, "\(file): \(before) → \(ops.count) request-dependent nodes")
    }

    /// The head split of the packed QKV projection, the mask's reshapes and the head merge are
    /// read and written in place by the attention kernel: of the data movement only the two
    /// sequence-first transposes around the projections run per request.
    @Test("multi-head attention's data movement is absorbed into the attention node",
          arguments: ["encoder_padding_legacy.onnx", "encoder_padding_dynamo/model.onnx"])
    func attentionAbsorbsHeadSplits(_ file: String) throws {
        let model = try Self.load("Tests/Fixtures/zoo/" + file, .all)
        let inputs = ["x": Tensor(shape: [3, 5, 16], scalars: (0..<240).map { Float($0 % 7) / 7 }),
                      "padding_mask": Tensor(shape: [3, 5], bools: (0..<15).map { $0 % 5 == 4 })]
        let planned = try model.profile(inputs, runs: 2).map(\.opType)
        #expect(planned.filter { $0 == "Transpose" }.count == 2, "\(file): \(planned)")
        #expect(!planned.contains("Gather") && !planned.contains("Expand") && !planned.contains("Mul") && !planned.contains("FusedElementwise"),
                "\(file): \(planned)")
        #expect(planned.count == 10, "\(file): \(planned)")
    }

    @Test("a profile times every planned node, and needs a plan")
    func profile() throws {
        let inputs = ["x": Tensor(shape: [2, 5, 16], scalars: (0..<160).map { Float($0 % 5) }),
                      "padding_mask": Tensor(shape: [2, 5], bools: Array(repeating: false, count: 10))]
        let model = try Self.load("Tests/Fixtures/zoo/encoder_padding_legacy.onnx", .none)
        let timings = try model.profile(inputs, runs: 3)
        // In plan order: every node that computes (Reshapes and the like are views in a plan).
        var remaining = model.executionPlan.filter { !$0.shapeOnly }.map(\.name)[...]
        for name in timings.map(\.name) {
            guard let i = remaining.firstIndex(of: name) else { Issue.record("\(name) is not a plan node, or out of order"); break }
            remaining = remaining[(i + 1)...]
        }
        #expect(timings.count == 35 && timings.contains { $0.name == "/layer/self_attn/Softmax" && $0.opType == "Softmax" })
        #expect(timings.allSatisfy { $0.microsecondsPerRun >= 0 } && timings.contains { $0.microsecondsPerRun > 0 })
        let general = try Model(contentsOf: repoPath("Tests/Fixtures/zoo/encoder_padding_legacy.onnx"),
                                options: ModelOptions(plannedExecution: false))
        #expect(throws: InferenceError.self) { try general.profile(inputs, runs: 1) }
    }

    @Test("the legacy MLP's decomposed GELU becomes one node")
    func geluFusion() throws {
        let all = try Self.load("Tests/Fixtures/zoo/mlp_legacy.onnx", .all)
        #expect(all.optimizationReport["gelu-fusion"] != nil, "\(all.optimizationReport)")
        #expect(!all.executionPlan.contains { $0.opType == "Erf" })
    }
}

/// Graphs in the decomposed forms exporters write (Tests/Fixtures/make_fusion_fixtures.py),
/// with onnxruntime's outputs for the graph as written.
struct FusionCase: Sendable, CustomStringConvertible {
    var fixture: FixtureCase
    var expectFused: [String]
    var fusedNodes: Int
    var rtol: Float
    var atol: Float
    var description: String { fixture.name }
}

let fusionCases: [FusionCase] = (loadJSON("Tests/Fixtures/fusion/cases.json") as! [[String: Any]]).map {
    FusionCase(fixture: FixtureCase(name: $0["name"] as! String, model: $0["model"] as! String, json: $0),
               expectFused: $0["expect_fused"] as! [String], fusedNodes: ($0["fused_nodes"] as! NSNumber).intValue,
               rtol: ($0["rtol"] as! NSNumber).floatValue, atol: ($0["atol"] as! NSNumber).floatValue)
}

@Suite("Pattern fusions on decomposed graphs")
struct FusionPatternTests {
    @Test("each pattern fuses and still matches onnxruntime", arguments: fusionCases)
    func pattern(_ fusion: FusionCase) throws {
        let inputs = fusion.fixture.inputs.mapValues(\.tensor)
        for level in OptimizationLevel.allCases {
            let model = try OptimizerTests.load(fusion.fixture.model, level)
            // The second run goes through the shape's execution plan.
            for run in 0..<2 {
                let results = try model.run(inputs)
                for (name, expected) in fusion.fixture.outputs {
                    let index = try #require(model.outputs.firstIndex { $0.name == name })
                    #expect(results[index].shape == expected.shape)
                    assertClose(results[index].scalars, expected.data, context: "\(fusion)/\(name) at \(level), run \(run)",
                                rtol: fusion.rtol, atol: fusion.atol)
                }
            }
            #expect(!model.executionPlan.isEmpty && model.planStatus(for: inputs) != .notYetPlanned)
            let ops = model.executionPlan.map(\.opType)
            for op in fusion.expectFused {
                #expect(ops.contains(op) == (level == .all), "\(fusion) at \(level): \(ops)")
            }
            if level == .all {
                #expect(ops.count == fusion.fusedNodes, "\(fusion): expected \(fusion.fusedNodes) nodes after fusion, got \(ops)")
            }
        }
    }

    @Test("Conv + BatchNormalization folds into the Conv at level basic")
    func convBatchNorm() throws {
        let basic = try OptimizerTests.load("Tests/Fixtures/fusion/conv_batchnorm.onnx", .basic)
        #expect(basic.optimizationReport["conv-batchnorm-folding"] == 1)
        #expect(basic.executionPlan.map(\.opType) == ["Conv", "Relu"])
    }
}

@Suite("Fused elementwise chains")
struct ElementwiseChainTests {
    /// Rows of 3 (a `[B, S, 1]` mask times `[B, S, 3]`, plus a bias) are gathered 85 to a chunk:
    /// 280 rows make three full chunks and a partial one, and every element is what the nodes
    /// apart compute.
    @Test func narrowBroadcastRowsGatherIntoChunks() throws {
        let model = TinyModel(nodes: [
            .init(op: "Mul", inputs: ["x", "mask"], outputs: ["m"]),
            .init(op: "Add", inputs: ["m", "bias"], outputs: ["a"]),
            .init(op: "Tanh", inputs: ["a"], outputs: ["z"]),
        ], inputs: [("x", TinyModel.float, [40, 7, 3]), ("mask", TinyModel.float, [40, 7, 1]), ("bias", TinyModel.float, [3])],
           outputs: ["z"])
        let inputs = ["x": Tensor(shape: [40, 7, 3], scalars: (0..<840).map { Float($0 % 29) / 7 - 2 }),
                      "mask": Tensor(shape: [40, 7, 1], scalars: (0..<280).map { Float($0 % 3) - 0.5 }),
                      "bias": Tensor(shape: [3], scalars: [0.25, -1, 0.5])]
        let fused = try model.load(planned: true, level: .all), plain = try model.load(planned: true, level: .none)
        #expect(fused.executionPlan.map(\.opType) == ["FusedElementwise"])
        for _ in 0..<2 {
            let got = try fused.run(inputs)[0].scalars, expected = try plain.run(inputs)[0].scalars
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }

    /// The fused program runs the same vector functions as the unfused kernels (it ran libm per
    /// element, 10x slower than the nodes apart), so level all gives level none's bits.
    @Test func fusedChainEqualsItsNodesBitForBit() throws {
        let model = TinyModel(nodes: [
            .init(op: "Add", inputs: ["x", "y"], outputs: ["a"]),
            .init(op: "Tanh", inputs: ["a"], outputs: ["t"]),
            .init(op: "Mul", inputs: ["x", "y"], outputs: ["m"]),
            .init(op: "Sigmoid", inputs: ["m"], outputs: ["s"]),
            .init(op: "Sub", inputs: ["x", "y"], outputs: ["d"]),
            .init(op: "Erf", inputs: ["d"], outputs: ["e"]),
        ], inputs: [("x", TinyModel.float, [4, 37]), ("y", TinyModel.float, [37])], outputs: ["t", "s", "e"])
        let inputs = ["x": Tensor(shape: [4, 37], scalars: (0..<148).map { Float($0 % 23) / 9 - 1.2 }),
                      "y": Tensor(shape: [37], scalars: (0..<37).map { Float($0 % 7) / 11 - 0.3 })]
        let fused = try model.load(planned: true, level: .all), plain = try model.load(planned: true, level: .none)
        #expect(fused.executionPlan.map(\.opType) == ["FusedElementwise", "FusedElementwise", "FusedElementwise"])
        for _ in 0..<2 {
            for (got, expected) in zip(try fused.run(inputs), try plain.run(inputs)) {
                #expect(got.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern))
            }
        }
    }
}
