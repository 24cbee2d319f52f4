import Foundation
import TensorWireTransport
import Testing
import TensorWireClient
import TensorWireProtocol

/// A user's program against a real server process over real TLS on loopback.
@Suite(.serialized) struct EndToEndTests {
    let server: ServerProcess
    let client: TensorWireClient

    init() throws {
        server = try ServerProcess()
        client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
    }

    private func features(_ rows: Range<Int>, of fixture: CreditFixture.Case) throws -> WireTensor {
        let width = fixture.inputShape[1]
        return try WireTensor(name: "features", shape: [rows.count, width],
                              floats: Array(fixture.input[rows.lowerBound * width..<rows.upperBound * width]))
    }

    @Test func blockingInferMatchesOnnxRuntime() throws {
        for fixture in CreditFixture.shared.cases {
            let input = try WireTensor(name: "features", shape: fixture.inputShape, floats: fixture.input)
            let result = try client.infer(model: "credit_default", inputs: [input])
            #expect(result.modelName == "credit_default")
            #expect(result.modelVersion == 1)
            let output = try #require(result["probabilities"])
            #expect(output.dataType == .float32)
            #expect(output.shape == fixture.outputShape)
            expectClose(try #require(output.floats), fixture.output)
        }
    }

    @Test func asyncInferMatchesOnnxRuntime() async throws {
        let fixture = CreditFixture.shared.largest
        let input = try WireTensor(name: "features", shape: fixture.inputShape, floats: fixture.input)
        let result = try await client.infer(model: "credit_default", inputs: [input])
        expectClose(try #require(result["probabilities"]?.floats), fixture.output)
    }

    /// 100 requests in flight on one connection, each with distinct input, each answered with
    /// its own output (rows are independent in an MLP, so onnxruntime's batch gives the truth).
    @Test func hundredConcurrentRequestsOnOneConnectionEachGetTheirOwnAnswer() async throws {
        let fixture = CreditFixture.shared.largest
        let rows = fixture.inputShape[0]
        let client = self.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                // Requests 0..<rows send one row; the rest send two consecutive rows.
                let range = index < rows ? index..<index + 1 : (index - rows)..<(index - rows + 2)
                let input = try features(range, of: fixture)
                group.addTask {
                    let result = try await client.infer(model: "credit_default", inputs: [input])
                    let output = try #require(result["probabilities"])
                    #expect(output.shape == [range.count, 2])
                    expectClose(try #require(output.floats), Array(fixture.output[range.lowerBound * 2..<range.upperBound * 2]))
                }
            }
            try await group.waitForAll()
        }
    }

    /// Blocking callers on many threads share the connection (leader/follower reading).
    @Test func blockingCallsFromManyThreadsShareOneConnection() throws {
        let fixture = CreditFixture.shared.largest
        let inputs = try (0..<fixture.inputShape[0]).map { try features($0..<$0 + 1, of: fixture) }
        let failures = Locked(0)
        let client = self.client
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for iteration in 0..<40 {
                let row = (thread * 40 + iteration) % inputs.count
                let expected: [Float] = Array(fixture.output[row * 2..<row * 2 + 2])
                let result = try? client.infer(model: "credit_default", inputs: [inputs[row]])
                let actual: [Float] = result?["probabilities"]?.floats ?? []
                let matches = actual.count == 2 && zip(actual, expected).allSatisfy { pair in abs(pair.0 - pair.1) <= 1e-4 }
                if !matches { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func discoveryMethodsDescribeTheRepository() throws {
        let models = try client.listModels()
        let credit = try #require(models.first { $0.name == "credit_default" })
        #expect(credit.ready)
        #expect(credit.versions == [1])

        let metadata = try client.modelMetadata(model: "credit_default")
        #expect(metadata.platform == "onnx")
        #expect(metadata.inputs == [TensorSpec(name: "features", dataType: .float32, shape: [-1, 10])])
        #expect(metadata.outputs == [TensorSpec(name: "probabilities", dataType: .float32, shape: [-1, 2])])

        #expect(try client.health(.live))
        #expect(try client.health(.ready))
        #expect(try client.health(.modelReady, model: "credit_default"))
        #expect(try client.health(.modelReady, model: "no_such_model") == false)

        let info = try client.serverInfo()
        #expect(info.name == "tensorwire")
        #expect(info.protocolVersion == ProtocolVersion.current)
    }

    @Test func badRequestsGetClearStatusesAndTheConnectionSurvives() throws {
        func status(_ body: () throws -> Void) -> StatusCode? {
            do { try body(); return nil } catch { return (error as? RPCError)?.code }
        }
        let wrongWidth = try WireTensor(name: "features", shape: [1, 9], floats: Array(repeating: 0, count: 9))
        #expect(status { _ = try client.infer(model: "credit_default", inputs: [wrongWidth]) } == .invalidArgument)
        let wrongName = try WireTensor(name: "feature", shape: [1, 10], floats: Array(repeating: 0, count: 10))
        #expect(status { _ = try client.infer(model: "credit_default", inputs: [wrongName]) } == .invalidArgument)
        let wrongType = try WireTensor(name: "features", dataType: .float64, shape: [1, 10], data: Array(repeating: 0, count: 80))
        #expect(status { _ = try client.infer(model: "credit_default", inputs: [wrongType]) } == .invalidArgument)
        #expect(status { _ = try client.infer(model: "credit_default", inputs: []) } == .invalidArgument)
        let good = try WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0, count: 10))
        #expect(status { _ = try client.infer(model: "missing_model", inputs: [good]) } == .notFound)
        #expect(status { _ = try client.infer(model: "credit_default", version: 7, inputs: [good]) } == .notFound)
        #expect(status { _ = try client.infer(model: "credit_default", inputs: [good], outputs: ["nope"]) } == .invalidArgument)
        #expect(status { _ = try client.call(method: "Train") } == .unimplemented)
        #expect(status { _ = try client.call(method: MethodName.infer, body: [1, 2, 3]) } == .invalidArgument)
        #expect(status { _ = try client.modelMetadata(model: "../../etc/passwd") } == .notFound)
        // The same connection still answers.
        #expect(try client.infer(model: "credit_default", inputs: [good])["probabilities"]?.shape == [1, 2])
    }

    /// An answer larger than the client said it accepts (MAX_FRAME_SIZE) is refused as such,
    /// and the connection goes on.
    @Test func responseOverTheClientsFrameLimitIsResourceExhausted() throws {
        var configuration = TestEnvironment.clientConfiguration(port: server.port)
        configuration.maxResponseSize = 16 << 10
        let small = try TensorWireClient(configuration: configuration)
        let rows = 4096  // 4096 x 2 floats = 32 KiB of output
        let input = try WireTensor(name: "features", shape: [rows, 10], floats: Array(repeating: 0.5, count: rows * 10))
        let error = #expect(throws: RPCError.self) { _ = try small.infer(model: "credit_default", inputs: [input]) }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message.contains("MAX_FRAME_SIZE") == true)
        let one = try WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0.5, count: 10))
        #expect(try small.infer(model: "credit_default", inputs: [one]).outputs.count == 1)
    }

    @Test func requestedOutputsAreReturnedByName() throws {
        let good = try WireTensor(name: "features", shape: [2, 10], floats: Array(repeating: 0.5, count: 20))
        let result = try client.infer(model: "credit_default", inputs: [good], outputs: ["probabilities"])
        #expect(result.outputs.map(\.name) == ["probabilities"])
        let probabilities = try #require(result.outputs.first?.floats)
        #expect(abs(probabilities[0] + probabilities[1] - 1) < 1e-5)
    }
}
