import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol

/// A scikit-learn classifier (skl2onnx) served with batching on: an int64 `label` output next
/// to float `probabilities`, each carried with its own datatype and split per request.
@Suite struct ClassifierLabelTests {
    static let modelFile = TestEnvironment.repositoryRoot + "/Tests/Fixtures/zoo_sklearn/gradient_boosting_binary.onnx"

    struct Case {
        var shape: [Int]
        var input: [Float]
        var labels: [Int64]
        var probabilities: [Float]
    }

    static let cases: [Case] = {
        let data = FileManager.default.contents(atPath: TestEnvironment.repositoryRoot + "/Tests/Fixtures/zoo_sklearn/cases.json")!
        let all = try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return all.filter { ($0["name"] as! String).hasPrefix("gradient_boosting_binary") }.map { entry in
            let input = (entry["inputs"] as! [String: Any])["X"] as! [String: Any]
            let outputs = entry["outputs"] as! [String: Any]
            let label = outputs["label"] as! [String: Any], probabilities = outputs["probabilities"] as! [String: Any]
            return Case(shape: input["shape"] as! [Int], input: (input["data"] as! [NSNumber]).map(\.floatValue),
                        labels: (label["data"] as! [NSNumber]).map(\.int64Value),
                        probabilities: (probabilities["data"] as! [NSNumber]).map(\.floatValue))
        }
    }()

    static func int64s(_ tensor: WireTensor) -> [Int64] {
        tensor.data.withUnsafeBytes { raw in (0..<raw.count / 8).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
    }

    @Test func labelsComeBackAsInt64AndMatchOnnxRuntime() async throws {
        let repository = try ModelRepositoryFixture(config: """
            {"max_batch_size": 32, "dynamic_batching": {"max_queue_delay_us": 5000}}
            """, name: "gbm", modelFile: Self.modelFile)
        let server = try ServerProcess(models: repository.root)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let metadata = try client.modelMetadata(model: "gbm")
        #expect(metadata.outputs.map(\.dataType) == [.int64, .float32])
        #expect(!Self.cases.isEmpty)
        // Every case several times at once, so that rows of different requests share batches.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for fixture in Self.cases + Self.cases + Self.cases {
                group.addTask {
                    let input = try WireTensor(name: "X", shape: fixture.shape, floats: fixture.input)
                    let result = try await client.infer(model: "gbm", inputs: [input])
                    let label = try #require(result["label"])
                    #expect(label.dataType == .int64)
                    #expect(Self.int64s(label) == fixture.labels)
                    expectClose(try #require(result["probabilities"]?.floats), fixture.probabilities)
                }
            }
            try await group.waitForAll()
        }
    }
}
