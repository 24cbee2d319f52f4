import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol

/// `tensorwire model inspect|run`: local work on ONNX files, no server.
@Suite struct ModelCommandTests {
    let transformer = TestEnvironment.repositoryRoot + "/examples/models/tick_transformer/1/model.onnx"

    @Test func inspectDescribesAServableModel() throws {
        let result = try TestEnvironment.runTool("tensorwire", ["model", "inspect", transformer])
        #expect(result.status == 0, "stderr: \(result.error)")
        for expected in ["opset 17", "ticks\tfloat32\t[batch, 32, 8]", "probabilities\tfloat32\t[batch, 3]",
                         "LayerNormalization", "parameters   69763", "servable: yes"] {
            #expect(result.output.contains(expected), "missing '\(expected)'")
        }
        let json = try TestEnvironment.runTool("tensorwire", ["model", "inspect", transformer, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as! [String: Any]
        #expect(object["servable"] as? Bool == true)
        #expect(object["parameters"] as? Int == 69763)
    }

    @Test func inspectOptimizedShowsTheFusedPlan() throws {
        let encoder = TestEnvironment.repositoryRoot + "/Tests/Fixtures/zoo/encoder_padding_legacy.onnx"
        let result = try TestEnvironment.runTool("tensorwire", ["model", "inspect", encoder, "--optimized"])
        #expect(result.status == 0, "stderr: \(result.error)")
        for expected in ["optimization all", "attention-fusion ×1", "Attention", "(MatMul+Add+Softmax+MatMul)", "AddLayerNormalization"] {
            #expect(result.output.contains(expected), "missing '\(expected)' in \(result.output)")
        }
        let json = try TestEnvironment.runTool("tensorwire", ["model", "inspect", encoder, "--optimized", "--optimize", "none", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as! [String: Any]
        #expect(object["level"] as? String == "none")
        #expect(object["nodes_before"] as? Int == object["nodes_after"] as? Int)
        let plan = try #require(object["plan"] as? [[String: Any]])
        #expect(!plan.contains { $0["op"] as? String == "Attention" })
        let refused = try TestEnvironment.runTool("tensorwire", ["model", "inspect", encoder, "--optimize", "basic"])
        #expect(refused.status != 0)
        #expect(refused.error.contains("does not take --optimize"))
    }

    @Test func inspectNamesUnsupportedOperatorsAndTheirNodes() throws {
        let broken = TestEnvironment.repositoryRoot + "/Tests/Fixtures/broken/two_unsupported_ops.onnx"
        let result = try TestEnvironment.runTool("tensorwire", ["model", "inspect", broken])
        #expect(result.status != 0)
        #expect(result.output.contains("unsupported operator 'NonZero' (node 'nonzero1')"))
        #expect(result.output.contains("NOT SERVABLE"))
    }

    @Test func inspectListsEveryUnsupportedOperatorAndAttributeInsideSubgraphs() throws {
        let broken = TestEnvironment.repositoryRoot + "/Tests/Fixtures/controlflow/inspect_many_problems.onnx"
        let result = try TestEnvironment.runTool("tensorwire", ["model", "inspect", broken])
        #expect(result.status != 0)
        for line in ["unsupported operator 'Foo' (node 'f1')", "unsupported operator 'Bar' (node Loop 'loop1' > body > Bar 'b1')",
                     "unsupported attribute 'alpha' of Relu (node 'r1')",
                     "unsupported attribute 'beta' of Sigmoid (node Loop 'loop1' > body > Sigmoid 's1')",
                     "operators (in subgraphs):"] {
            #expect(result.output.contains(line), "\(line) missing in: \(result.output)")
        }
        let json = try TestEnvironment.runTool("tensorwire", ["model", "inspect", broken, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect((object["unsupported_attributes"] as? [[String: String]])?.count == 2)
        #expect((object["subgraph_operators"] as? [String: Int]) == ["Sigmoid": 1, "Bar": 1])
    }

    @Test func runWritesEachOutputAsNpyMatchingOnnxRuntime() throws {
        let fixture = TransformerExampleTests.cases.first { $0.shape[0] > 1 }!
        let directory = NSTemporaryDirectory() + "tensorwire-model-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = try WireTensor(name: "ticks", shape: fixture.shape, floats: fixture.input)
        try Data(NPYFormat.encode(input)).write(to: URL(fileURLWithPath: directory + "/ticks.npy"))

        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "run", transformer, "--input", "ticks=\(directory)/ticks.npy", "--output-dir", directory + "/out",
        ])
        #expect(result.status == 0, "stderr: \(result.error)")
        let written = try Data(contentsOf: URL(fileURLWithPath: directory + "/out/probabilities.npy"))
        let output = try NPYFormat.decode([UInt8](written), name: "probabilities")
        #expect(output.shape == [fixture.shape[0], 3])
        expectClose(try #require(output.floats), fixture.output)
    }

    @Test func runRefusesInputsThatDoNotFit() throws {
        let directory = NSTemporaryDirectory() + "tensorwire-model-run-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wrong = try WireTensor(name: "ticks", shape: [1, 31, 8], floats: Array(repeating: 0, count: 248))
        try Data(NPYFormat.encode(wrong)).write(to: URL(fileURLWithPath: directory + "/ticks.npy"))
        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "run", transformer, "--input", "ticks=\(directory)/ticks.npy", "--output-dir", directory + "/out",
        ])
        #expect(result.status != 0)
        #expect(result.error.contains("ticks"))
    }
}

extension ModelCommandTests {
    @Test func inspectRefusesADirectoryClearly() throws {
        let result = try TestEnvironment.runTool("tensorwire", ["model", "inspect", TestEnvironment.repositoryRoot + "/Tests/Fixtures"])
        #expect(result.status != 0)
        #expect(result.error.contains("is not a regular file"))
    }
}

extension ModelCommandTests {
    /// Every optimization level must give onnxruntime's outputs (within float32 tolerance).
    @Test(arguments: ["none", "basic", "all"])
    func runAtEachOptimizationLevelMatchesOnnxRuntime(_ level: String) throws {
        let fixture = TransformerExampleTests.cases.first { $0.shape[0] > 1 }!
        let directory = NSTemporaryDirectory() + "tensorwire-model-run-\(level)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = try WireTensor(name: "ticks", shape: fixture.shape, floats: fixture.input)
        try Data(NPYFormat.encode(input)).write(to: URL(fileURLWithPath: directory + "/ticks.npy"))
        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "run", transformer, "--optimize", level, "--input", "ticks=\(directory)/ticks.npy", "--output-dir", directory + "/out",
        ])
        #expect(result.status == 0, "stderr: \(result.error)")
        let written = try Data(contentsOf: URL(fileURLWithPath: directory + "/out/probabilities.npy"))
        let output = try NPYFormat.decode([UInt8](written), name: "probabilities")
        expectClose(try #require(output.floats), fixture.output)
    }

    @Test func runRefusesAnUnknownOrSecondOptimizationLevel() throws {
        for (level, message) in [("fast", "--optimize takes none, basic, all"), ("none,all", "model run takes one --optimize level")] {
            let result = try TestEnvironment.runTool("tensorwire", ["model", "run", transformer, "--optimize", level, "--output-dir", "/nonexistent"])
            #expect(result.status == 2)
            #expect(result.error.contains(message), "stderr: \(result.error)")
        }
    }
}
