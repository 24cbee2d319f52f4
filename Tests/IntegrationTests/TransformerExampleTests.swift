import Foundation
import InferenceEngine
import Testing
import TensorWireClient
import TensorWireProtocol

/// The example tick transformer (examples/models/tick_transformer) served with its own
/// config.json, which turns dynamic batching on.
@Suite(.serialized) struct TransformerExampleTests {
    let server: ServerProcess
    let client: TensorWireClient

    init() throws {
        server = try ServerProcess()
        client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
    }

    struct Case {
        var shape: [Int]
        var input: [Float]
        var output: [Float]
    }

    static let cases: [Case] = {
        let data = FileManager.default.contents(atPath: TestEnvironment.repositoryRoot + "/Tests/Fixtures/tick_transformer.json")!
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { entry in
            let input = (entry["inputs"] as! [String: Any])["ticks"] as! [String: Any]
            let output = (entry["outputs"] as! [String: Any])["probabilities"] as! [String: Any]
            return Case(shape: input["shape"] as! [Int], input: (input["data"] as! [NSNumber]).map(\.floatValue),
                        output: (output["data"] as! [NSNumber]).map(\.floatValue))
        }
    }()

    @Test func outputsMatchOnnxRuntime() throws {
        for fixture in Self.cases {
            let input = try WireTensor(name: "ticks", shape: fixture.shape, floats: fixture.input)
            let result = try client.infer(model: "tick_transformer", inputs: [input])
            expectClose(try #require(result["probabilities"]?.floats), fixture.output)
        }
    }

    /// Concurrent single-window requests are batched by the server; each answer must be exactly
    /// what the engine computes for that window alone.
    @Test func batchedRequestsGetExactlyTheirUnbatchedOutputs() async throws {
        let model = try Model(contentsOf: TestEnvironment.repositoryRoot + "/examples/models/tick_transformer/1/model.onnx")
        let windows: [[Float]] = (0..<64).map { (window: Int) -> [Float] in
            (0..<256).map { (index: Int) -> Float in Float((index * 7 + window * 13) % 23) * 0.1 - 1 }
        }
        let client = self.client
        let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
            for window in windows {
                group.addTask {
                    let input = try WireTensor(name: "ticks", shape: [1, 32, 8], floats: window)
                    let served = try await client.infer(model: "tick_transformer", inputs: [input])["probabilities"]?.floats
                    let alone = try model.run(["ticks": Tensor(shape: [1, 32, 8], scalars: window)])[0].scalars
                    return served != alone
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(mismatches == 0)
        let stats = try #require(try client.stats(model: "tick_transformer").first)
        #expect(stats.successes == 64)
        // A heavy model goes to the compute pool, so requests queue behind a running batch and
        // the next batch carries several of them.
        #expect(stats.batchSizes.keys.contains { $0 > 1 }, "no batch formed: \(stats.batchSizes)")
    }
}
