import Testing
@testable import InferenceEngine

@Suite("onnxruntime fixtures")
struct FixtureTests {
    @Test("credit-default model matches onnxruntime", arguments: creditCases)
    func creditDefault(_ fixture: FixtureCase) throws {
        try check(fixture)
    }

    @Test("credit-default model metadata")
    func creditMetadata() throws {
        let model = try Model(contentsOf: repoPath("examples/models/credit_default/1/model.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.inputs == [ValueInfo(name: "features", elementType: .float32, dimensions: [.symbolic("batch"), .fixed(10)])])
        #expect(model.outputs == [ValueInfo(name: "probabilities", elementType: .float32, dimensions: [.symbolic("batch"), .fixed(2)])])
        #expect(model.opsetVersion == 17)
        #expect(model.irVersion == 8)
        #expect(model.producerName == "tensorwire-examples")
        #expect(model.operatorHistogram == ["Gemm": 3, "Relu": 2, "Softmax": 1])
        #expect(model.parameterCount == 10 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2)
        #expect(model.inputs[0].dimensions.description == "[batch, 10]")
    }

    @Test("single-operator models match onnxruntime", arguments: opCases)
    func operatorCase(_ fixture: FixtureCase) throws {
        try check(fixture)
    }

    @Test("every supported operator has a fixture")
    func coverage() {
        var seen = Set<String>()
        for fixture in opCases {
            if let model = try? Model(contentsOf: repoPath(fixture.model), outputTypes: Model.allOutputTypes) { seen.formUnion(model.operatorHistogram.keys) }
        }
        #expect(Set(OperatorCompiler.supportedOperators).subtracting(seen).isEmpty)
    }

    @Test("broken models are refused with a clear message", arguments: brokenCases)
    func refusal(_ broken: BrokenCase) {
        do {
            _ = try Model(contentsOf: repoPath(broken.model), outputTypes: Model.allOutputTypes)
            Issue.record("\(broken.name) loaded but should have been refused")
        } catch {
            #expect(error.message.contains(broken.expect), "\(broken.name): \(error.message)")
            #expect(!error.message.isEmpty)
        }
    }
}
