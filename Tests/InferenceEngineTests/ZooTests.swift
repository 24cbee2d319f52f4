import Foundation
import Testing
@testable import InferenceEngine

/// One exported model at one batch size, with onnxruntime's outputs.
struct ZooCase: Sendable, CustomStringConvertible {
    var fixture: FixtureCase
    var family: String
    var exporter: String
    var rtol: Float
    var atol: Float
    var description: String { fixture.name }
}

let zooCases: [ZooCase] = (["Tests/Fixtures/zoo/cases.json", "Tests/Fixtures/zoo_sklearn/cases.json", "Tests/Fixtures/zoo_tf/cases.json"].flatMap {
    loadJSON($0) as! [[String: Any]]
}).map {
    ZooCase(fixture: FixtureCase(name: $0["name"] as! String, model: $0["model"] as! String, json: $0),
            family: $0["family"] as! String, exporter: $0["exporter"] as! String,
            rtol: ($0["rtol"] as! NSNumber).floatValue, atol: ($0["atol"] as! NSNumber).floatValue)
}

@Suite("PyTorch model zoo (legacy and dynamo exporters) matches onnxruntime")
struct ZooTests {
    @Test("zoo model matches onnxruntime", arguments: zooCases)
    func zooModel(_ zoo: ZooCase) throws {
        let model = try Model(contentsOf: repoPath(zoo.fixture.model), outputTypes: Model.allOutputTypes)
        let results = try model.run(zoo.fixture.inputs.mapValues(\.tensor))
        for (name, expected) in zoo.fixture.outputs {
            let index = try #require(model.outputs.firstIndex { $0.name == name }, "no output \(name)")
            let got = results[index]
            #expect(got.shape == expected.shape, "\(zoo): output \(name) shape \(got.shape) vs \(expected.shape)")
            #expect(got.elementType == expected.elementType, "\(zoo): output \(name) type")
            try #require(got.elementCount == expected.data.count)
            if expected.dtype == "float32" {
                assertClose(got.scalars, expected.data, context: "\(zoo)/\(name)", rtol: zoo.rtol, atol: zoo.atol)
            } else {
                #expect(got.storage.int64Values == expected.integers, "\(zoo)/\(name)")
            }
        }
    }

    @Test("every PyTorch family is exported by both exporters")
    func coverage() {
        let families = Set(zooCases.filter { $0.exporter == "legacy" || $0.exporter == "dynamo" }.map(\.family))
        #expect(families.count >= 9)
        for family in families {
            #expect(Set(zooCases.filter { $0.family == family }.map(\.exporter)) == ["legacy", "dynamo"], "\(family)")
        }
    }

    /// Exported models that onnxruntime runs but that use operators the engine lacks: they must be
    /// refused at load naming exactly those operators, and inspection must list them.
    @Test("exports with unsupported operators are refused by name")
    func unsupportedExports() throws {
        let entries = loadJSON("Tests/Fixtures/zoo_tf/unsupported.json") as! [[String: Any]]
        for entry in entries {
            let path = repoPath(entry["model"] as! String)
            let operators = entry["operators"] as! [String]
            let info = try Model.inspect(contentsOf: path)
            #expect(Set(info.unsupportedNodes.map(\.opType)) == Set(operators))
            #expect(!info.isServable)
            do {
                _ = try Model(contentsOf: path, outputTypes: Model.allOutputTypes)
                Issue.record("\(path) loaded")
            } catch {
                for op in operators { #expect(error.message.contains("unsupported operator '\(op)'"), "\(error.message)") }
            }
        }
    }

    /// Shape inference at load follows the input dimension names through Shape → Gather →
    /// Concat → Reshape chains, recurrent ops and attention, so outputs are described in terms of
    /// the inputs rather than the exporter's labels.
    @Test func outputDimensionsFollowTheInputs() throws {
        typealias D = InferenceEngine.Dimension
        let batch = D.symbolic("batch"), seq = D.symbolic("seq")
        var expected: [(String, [[D]])] = []
        expected.append(("Tests/Fixtures/zoo/lstm_stacked_states_legacy.onnx",
                         [[batch, seq, .fixed(3)], [.fixed(2), batch, .fixed(10)], [.fixed(2), batch, .fixed(10)]]))
        expected.append(("Tests/Fixtures/zoo/gru_bidirectional_legacy.onnx", [[batch, .fixed(3)], [.fixed(4), batch, .fixed(8)]]))
        expected.append(("Tests/Fixtures/zoo/token_classifier_legacy.onnx", [[batch, .fixed(2)]]))
        expected.append(("Tests/Fixtures/zoo/encoder_causal_dynamo/model.onnx", [[batch, seq, .fixed(16)]]))
        expected.append(("Tests/Fixtures/zoo_tf/keras_mlp.onnx", [[.symbolic("unk__11"), .fixed(3)]]))
        for (path, outputs) in expected {
            let model = try Model(contentsOf: repoPath(path), outputTypes: Model.allOutputTypes)
            #expect(model.outputs.map(\.dimensions) == outputs, "\(path)")
        }
    }
}
