import Testing
@testable import InferenceEngine

@Suite("Model inspection for the CLI")
struct InspectionTests {
    @Test func servableDynamoExportWithExternalData() throws {
        let path = repoPath("Tests/Fixtures/zoo/mlp_dynamo/model.onnx")
        let info = try Model.inspect(contentsOf: path)
        #expect(info.isServable)
        #expect(info.loadError == nil)
        #expect(info.producerName == "pytorch")
        #expect(!info.producerVersion.isEmpty)
        #expect(info.opsetVersion == 20)
        #expect(info.externalDataLocations == ["model.onnx.data"])
        #expect(info.unsupportedNodes.isEmpty)
        #expect(info.operatorHistogram["Gelu"] == 2)   // exact and tanh GELU
        #expect(info.inputs.map(\.name) == ["x"])
        let model = try Model(contentsOf: path, outputTypes: Model.allOutputTypes)
        #expect(info.parameterCount == model.parameterCount)
        #expect(info.inputs == model.inputs && info.outputs == model.outputs)
        #expect(model.inspection.externalDataLocations == ["model.onnx.data"])
        #expect(model.inspection.operatorHistogram == info.operatorHistogram)
        #expect(model.opsetImports[""] == 20)
    }

    @Test func unsupportedOperatorsAreListedNotThrown() throws {
        let info = try Model.inspect(contentsOf: repoPath("Tests/Fixtures/broken/two_unsupported_ops.onnx"))
        #expect(!info.isServable)
        #expect(info.unsupportedNodes == [.init(opType: "NonZero", nodeName: "nonzero1"),
                                          .init(opType: "com.microsoft.FusedGemm", nodeName: "fg1")])
        #expect(info.loadError?.contains("unsupported operator 'NonZero' (node 'nonzero1')") == true)
        #expect(info.operatorHistogram == ["NonZero": 1, "Relu": 1, "FusedGemm": 1])
        #expect(info.nodeCount == 3)
    }

    @Test func unservableInputTypeIsStillDescribed() throws {
        let info = try Model.inspect(contentsOf: repoPath("Tests/Fixtures/broken/double_input.onnx"))
        #expect(info.inputs == [ValueInfo(name: "x", elementType: .float64, dimensions: [.fixed(2), .fixed(2)])])
        #expect(info.loadError?.contains("DOUBLE") == true)
        #expect(info.unsupportedNodes.isEmpty)
    }

    @Test func notAnOnnxFileThrows() {
        #expect(throws: ModelLoadError.self) { try Model.inspect(contentsOf: repoPath("Tests/Fixtures/broken/truncated.onnx")) }
        #expect(throws: ModelLoadError.self) { try Model.inspect(contentsOf: "/nonexistent.onnx") }
    }
}
