import Foundation
import InferenceEngine
import Testing
import TensorWireClient
import TensorWireProtocol

/// Stateful serving: the server keeps an LSTM's h and c between the steps of a sequence, so a
/// client streaming one tick at a time gets what feeding the whole series at once would give.
@Suite(.serialized) struct SequenceBatchingTests {
    static let modelFile = TestEnvironment.repositoryRoot + "/Tests/Fixtures/zoo/lstm_stacked_states_legacy.onnx"
    static let engine = try! Model(contentsOf: modelFile)
    /// `maxIdle` is generous by default (10 minutes): a parallel test run on two cores can keep
    /// this async test off the cooperative threads for over a minute between two steps, and a
    /// tighter limit would expire the sequence mid-stream (idle expiry has its own test).
    static func config(maxIdleMicroseconds: Int = 600_000_000) -> String {
        """
        {"max_batch_size": 16, "dynamic_batching": {"max_queue_delay_us": 2000},
         "sequence_batching": {"state": [{"input": "h0", "output": "h"}, {"input": "c0", "output": "c"}], "max_idle_us": \(maxIdleMicroseconds)}}
        """
    }

    let server: ServerProcess
    let repository: ModelRepositoryFixture

    init() throws {
        repository = try ModelRepositoryFixture(config: Self.config(), name: "ticker_lstm", modelFile: Self.modelFile)
        server = try ServerProcess(models: repository.root)
    }

    /// One series of `steps` ticks with 6 features each, distinct per `seed`.
    static func series(_ seed: Int, steps: Int) -> [Float] {
        (0..<steps * 6).map { (index: Int) -> Float in sin(Float(index) * 0.37 + Float(seed) * 1.3) }
    }

    /// The whole series at once from zero state: what every streamed step must reproduce.
    static func wholeSeries(_ values: [Float], steps: Int) -> [Float] {
        let zeros = Tensor(shape: [2, 1, 10], scalars: Array(repeating: 0, count: 20))
        let outputs = try! engine.run(["x": Tensor(shape: [1, steps, 6], scalars: values), "h0": zeros, "c0": zeros])
        return outputs[0].scalars  // y [1, steps, 3]
    }

    private func stream(_ client: TensorWireClient, id: Int, values: [Float], steps: Int) async throws -> [Float] {
        var ys: [Float] = []
        for step in 0..<steps {
            var metadata: Metadata = ["sequence-id": String(id)]
            if step == 0 { metadata.append("sequence-start", "true") }
            if step == steps - 1 { metadata.append("sequence-end", "true") }
            let tick = try WireTensor(name: "x", shape: [1, 1, 6], floats: Array(values[step * 6..<(step + 1) * 6]))
            let result = try await client.infer(model: "ticker_lstm", inputs: [tick], metadata: metadata)
            #expect(result.outputs.map(\.name) == ["y"], "state outputs stay on the server")
            ys += try #require(result["y"]?.floats)
        }
        return ys
    }

    @Test func streamingStepByStepMatchesTheWholeSeries() async throws {
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let values = Self.series(1, steps: 12)
        let streamed = try await stream(client, id: 7, values: values, steps: 12)
        expectClose(streamed, Self.wholeSeries(values, steps: 12), tolerance: 1e-5)
    }

    /// Sixteen sequences streamed at once: their steps are batched together, each keeps its own
    /// state, each matches its own whole series.
    @Test func concurrentSequencesBatchTogetherAndKeepTheirOwnState() async throws {
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let steps = 10
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...16 {
                group.addTask {
                    let values = Self.series(id, steps: steps)
                    let streamed = try await self.stream(client, id: id, values: values, steps: steps)
                    expectClose(streamed, Self.wholeSeries(values, steps: steps), tolerance: 1e-5)
                }
            }
            try await group.waitForAll()
        }
        let stats = try #require(try client.stats(model: "ticker_lstm").first)
        #expect(stats.successes == 160)
        #expect(stats.batchSizes.keys.contains { $0 > 1 }, "steps of different sequences never shared a batch: \(stats.batchSizes)")
    }

    @Test func sequenceRulesAreEnforced() throws {
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let tick = try WireTensor(name: "x", shape: [1, 1, 6], floats: Array(repeating: 0.1, count: 6))
        func code(_ metadata: Metadata, inputs: [WireTensor]? = nil) -> StatusCode? {
            do { _ = try client.infer(model: "ticker_lstm", inputs: inputs ?? [tick], metadata: metadata); return .ok } catch { return error.code }
        }
        #expect(code([:]) == .invalidArgument)                                        // no sequence id
        #expect(code(["sequence-id": "0"]) == .invalidArgument)
        #expect(code(["sequence-id": "99"]) == .failedPrecondition)                  // never started
        let state = try WireTensor(name: "h0", shape: [2, 1, 10], floats: Array(repeating: 0, count: 20))
        #expect(code(["sequence-id": "5", "sequence-start": "true"], inputs: [tick, state]) == .invalidArgument)  // state is the server's
        #expect(code(["sequence-id": "5", "sequence-start": "true"]) == .ok)
        #expect(code(["sequence-id": "5", "sequence-end": "true"]) == .ok)
        #expect(code(["sequence-id": "5"]) == .failedPrecondition)                   // ended
    }

    @Test func idleSequencesExpire() throws {
        let repository = try ModelRepositoryFixture(config: Self.config(maxIdleMicroseconds: 200_000), name: "ticker_lstm", modelFile: Self.modelFile)
        let server = try ServerProcess(models: repository.root)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let tick = try WireTensor(name: "x", shape: [1, 1, 6], floats: Array(repeating: 0.1, count: 6))
        _ = try client.infer(model: "ticker_lstm", inputs: [tick], metadata: ["sequence-id": "6", "sequence-start": "true"])
        usleep(600_000)  // three times max_idle_us
        let error = #expect(throws: RPCError.self) {
            _ = try client.infer(model: "ticker_lstm", inputs: [tick], metadata: ["sequence-id": "6"])
        }
        #expect(error?.code == .failedPrecondition)
    }

    @Test func metadataDescribesTheSequenceState() throws {
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let config = try client.modelMetadata(model: "ticker_lstm").config
        #expect(config["sequence_batching"] == "on")
        #expect(config["sequence_state"] == "h0<-h,c0<-c")
    }
}
