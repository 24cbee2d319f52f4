import Foundation
import InferenceEngine
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

/// Dynamic batching seen from clients: right answers under heavy concurrency, and the queue's
/// limits (full, deadline, cancel) as statuses and statistics.
@Suite(.serialized) struct BatchingTests {
    static let model = try! Model(contentsOf: TestEnvironment.repositoryRoot + "/examples/models/credit_default/1/model.onnx")

    /// A distinct applicant for every (client, request) pair.
    static func features(_ client: Int, _ request: Int) -> [Float] {
        (0..<10).map { Float(client) * 1.7 + Float(request) * 0.013 + Float($0) * 0.5 }
    }

    static func alone(_ features: [Float]) -> [Float] {
        try! model.run(["features": Tensor(shape: [1, 10], scalars: features)])[0].scalars
    }

    private func server(_ config: String) throws -> (ServerProcess, ModelRepositoryFixture) {
        let repository = try ModelRepositoryFixture(config: config)
        return (try ServerProcess(models: repository.root), repository)
    }

    /// 64 clients × 1,000 requests with distinct inputs through a batching model: every
    /// response equals the unbatched output for its own input, and batches did form.
    @Test func sixtyFourClientsTimesAThousandRequestsEachGetTheirOwnAnswer() async throws {
        let (server, _) = try server("""
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 200, "max_queue_size": 4096}}
            """)
        let clients = 64, perClient = 1000
        let port = server.port
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for clientIndex in 0..<clients {
                group.addTask {
                    let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: port))
                    defer { client.close() }
                    var wrong = 0
                    for request in 0..<perClient {
                        let features = Self.features(clientIndex, request)
                        let input = try WireTensor(name: "features", shape: [1, 10], floats: features)
                        let result = try await client.infer(model: "credit_default", inputs: [input])
                        if result["probabilities"]?.floats != Self.alone(features) { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)

        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: port))
        let stats = try #require(try client.stats(model: "credit_default").first)
        #expect(stats.successes == UInt64(clients * perClient))
        #expect(stats.failures == 0)
        #expect(stats.batchSizes.keys.contains { $0 > 1 }, "no batch of more than one request formed: \(stats.batchSizes)")
        let rows = stats.batchSizes.reduce(UInt64(0)) { $0 + UInt64($1.key) * $1.value }
        #expect(rows == UInt64(clients * perClient))
    }

    @Test func metadataShowsTheSchedulingConfig() throws {
        let (server, _) = try server("""
            {"max_batch_size": 32, "instance_count": 2, "dynamic_batching": {"max_queue_delay_us": 150, "preferred_batch_sizes": [8, 16], "priority_levels": 3, "default_priority": 2}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let config = try client.modelMetadata(model: "credit_default").config
        #expect(config["max_batch_size"] == "32")
        #expect(config["instance_count"] == "2")
        #expect(config["dynamic_batching"] == "on")
        #expect(config["max_queue_delay_us"] == "150")
        #expect(config["preferred_batch_sizes"] == "8,16")
        #expect(config["priority_levels"] == "3")
        #expect(config["default_priority"] == "2")
    }

    @Test func optimizationLevelAndIntraOpThreadsComeFromTheConfig() throws {
        let (server, _) = try server(#"{"optimization": "basic", "intra_op_threads": 2}"#)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let config = try client.modelMetadata(model: "credit_default").config
        #expect(config["optimization"] == "basic")
        #expect(config["intra_op_threads"] == "2")
        let features: [Float] = (0..<10).map { Float($0) * 0.3 - 1 }
        let result = try client.infer(model: "credit_default", inputs: [try WireTensor(name: "features", shape: [1, 10], floats: features)])
        #expect(result["probabilities"]?.floats == Self.alone(features))

        let (defaults, _) = try self.server("{}")
        let other = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: defaults.port))
        #expect(try other.modelMetadata(model: "credit_default").config["optimization"] == "all")

        let (refusing, _) = try self.server(#"{"optimization": "fast"}"#)
        let third = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: refusing.port))
        let error = #expect(throws: RPCError.self) {
            _ = try third.infer(model: "credit_default", inputs: [try WireTensor(name: "features", shape: [1, 10], floats: features)])
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("optimization must be one of") == true)
    }

    @Test func fullQueueAnswersResourceExhaustedAtOnce() async throws {
        let (server, _) = try server("""
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 1000000, "max_queue_size": 4}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let input = try WireTensor(name: "features", shape: [1, 10], floats: Self.features(0, 0))
        let codes = await withTaskGroup(of: StatusCode.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do { _ = try await client.infer(model: "credit_default", inputs: [input]); return .ok } catch {
                        return (error as? RPCError)?.code ?? .unknown
                    }
                }
            }
            return await group.reduce(into: [StatusCode]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == .ok }.count == 4)
        #expect(codes.filter { $0 == .resourceExhausted }.count == 2)
        let stats = try #require(try client.stats(model: "credit_default").first)
        #expect(stats.rejectedQueueFull == 2)
        #expect(stats.outcomes[.resourceExhausted] == 2)
    }

    /// The server answers DEADLINE_EXCEEDED at the request's deadline, from its queue, without
    /// running it. A raw connection is used because a client whose own deadline fires at the
    /// same moment would send CANCEL and race the server.
    @Test func deadlinePassingInTheQueueIsAnsweredWithoutRunning() throws {
        let (server, _) = try server("""
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 2000000}}
            """)
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        let input = try WireTensor(name: "features", shape: [1, 10], floats: Self.features(0, 0))
        let start = ContinuousClock.now
        try raw.send { writer in
            writer.writeRequest(streamID: 1, head: RequestHead(method: MethodName.infer, timeoutMicroseconds: 50_000)) { w, start in
                w.writeInferRequest(modelName: "credit_default", modelVersion: 0, inputs: [input], requestedOutputs: [], payloadStart: start)
            }
        }
        let frames = try raw.readFrames(until: { $0.contains { $0.type == .response } })
        let elapsed = ContinuousClock.now - start
        let response = try #require(frames.first { $0.type == .response })
        let code = try response.payload.withUnsafeBytes { try ResponseFrame(payload: $0, limits: .default).head.status.code }
        #expect(code == .deadlineExceeded)
        #expect(elapsed >= .milliseconds(50))
        #expect(elapsed < .seconds(1), "answered at the end of the batching delay, not at the deadline")
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let stats = try #require(try client.stats(model: "credit_default").first)
        #expect(stats.expiredInQueue == 1)
        #expect(stats.executions == 0)
        #expect(stats.outcomes[.deadlineExceeded] == 1)
    }

    @Test func defaultTimeoutAppliesToRequestsWithoutOne() throws {
        let (server, _) = try server("""
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 2000000, "default_timeout_us": 30000}}
            """)
        var configuration = TestEnvironment.clientConfiguration(port: server.port)
        configuration.defaultTimeout = nil  // the request carries no deadline at all
        let client = try TensorWireClient(configuration: configuration)
        let input = try WireTensor(name: "features", shape: [1, 10], floats: Self.features(0, 0))
        let error = #expect(throws: RPCError.self) { _ = try client.infer(model: "credit_default", inputs: [input]) }
        #expect(error?.code == .deadlineExceeded)
    }

    @Test func cancellingACallDropsItFromTheServersQueue() async throws {
        let (server, _) = try server("""
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 3000000}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let input = try WireTensor(name: "features", shape: [1, 10], floats: Self.features(0, 0))
        let task = Task { () -> StatusCode? in
            do { _ = try await client.infer(model: "credit_default", inputs: [input]) } catch { return (error as? RPCError)?.code }
            return nil
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        #expect(await task.value == .cancelled)
        var stats = try #require(try client.stats(model: "credit_default").first)
        let deadline = ContinuousClock.now + .seconds(5)
        while stats.cancelledInQueue == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            stats = try #require(try client.stats(model: "credit_default").first)
        }
        #expect(stats.cancelledInQueue == 1)
        #expect(stats.executions == 0)
    }

    @Test func priorityMetadataIsValidated() throws {
        let (server, _) = try server("""
            {"max_batch_size": 8, "dynamic_batching": {"priority_levels": 2}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let input = try WireTensor(name: "features", shape: [1, 10], floats: Self.features(0, 0))
        #expect(try client.infer(model: "credit_default", inputs: [input], metadata: ["priority": "1"]).outputs.count == 1)
        for bad in ["0", "3", "high"] {
            let error = #expect(throws: RPCError.self) {
                _ = try client.infer(model: "credit_default", inputs: [input], metadata: ["priority": bad])
            }
            #expect(error?.code == .invalidArgument, "priority \(bad)")
        }
    }

    @Test func oversizedBatchIsRefused() throws {
        let (server, _) = try server("""
            {"max_batch_size": 4, "dynamic_batching": {}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        let input = try WireTensor(name: "features", shape: [5, 10], floats: Array(repeating: 1, count: 50))
        let error = #expect(throws: RPCError.self) { _ = try client.infer(model: "credit_default", inputs: [input]) }
        #expect(error?.code == .invalidArgument)
    }

    /// JSON numbers 0 and 1 are numbers, JSON booleans are not (Foundation on Linux blurs them).
    @Test func configNumbersAndBooleansAreToldApart() throws {
        let (server, _) = try server("""
            {"max_batch_size": 1, "instance_count": 1, "dynamic_batching": {"max_queue_delay_us": 0, "default_timeout_us": 0, "preferred_batch_sizes": [1]}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        #expect(try client.listModels().first?.ready == true)
        let (refusing, _) = try self.server(#"{"max_batch_size": true}"#)
        let other = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: refusing.port))
        #expect(try other.listModels().first?.ready == false)
    }

    @Test func invalidConfigKeepsTheModelUnreadyWithItsReason() throws {
        let (server, _) = try server("""
            {"max_batch_size": 8, "dynamic_batching": {"max_queue_delay": 5}}
            """)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        #expect(try client.listModels().first?.ready == false)
        let error = #expect(throws: RPCError.self) {
            _ = try client.infer(model: "credit_default", inputs: [WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 1, count: 10))])
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("max_queue_delay") == true)
    }
}

/// Stream limits and graceful drain with requests waiting in a batching queue, seen on the wire.
@Suite(.serialized) struct QueuedRequestLifecycleTests {
    private func inferFrame(_ writer: inout ByteWriter, streamID: UInt32) {
        let input = try! WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0.5, count: 10))
        writer.writeRequest(streamID: streamID, head: RequestHead(method: MethodName.infer)) { w, start in
            w.writeInferRequest(modelName: "credit_default", modelVersion: 0, inputs: [input], requestedOutputs: [], payloadStart: start)
        }
    }

    private func code(_ frame: RawConnection.ReceivedFrame) throws -> StatusCode {
        try frame.payload.withUnsafeBytes { try ResponseFrame(payload: $0, limits: .default).head.status.code }
    }

    @Test func serverEnforcesMaxConcurrentStreams() throws {
        let repository = try ModelRepositoryFixture(config: """
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 300000}}
            """)
        let server = try ServerProcess(extraArguments: ["--max-concurrent-streams", "2"], models: repository.root)
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        try raw.send { writer in
            for stream: UInt32 in [1, 3, 5] { inferFrame(&writer, streamID: stream) }
        }
        let frames = try raw.readFrames(until: { $0.filter { $0.type == .response }.count == 3 })
        let responses = Dictionary(uniqueKeysWithValues: try frames.filter { $0.type == .response }.map { ($0.streamID, try code($0)) })
        #expect(responses == [1: .ok, 3: .ok, 5: .resourceExhausted])
    }

    /// SIGTERM while a request waits in the batching queue: GOAWAY(OK) names it as accepted, its
    /// answer still comes, and only then does the server close.
    @Test func gracefulDrainAnswersQueuedRequestsBeforeClosing() throws {
        let repository = try ModelRepositoryFixture(config: """
            {"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 500000}}
            """)
        let server = try ServerProcess(models: repository.root)
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        try raw.send { inferFrame(&$0, streamID: 1) }
        usleep(100_000)  // it is queued, waiting out the 500 ms batching delay
        server.process.terminate()
        let (frames, closed) = try raw.readUntilClosed()
        let goAway = try #require(frames.first { $0.type == .goAway })
        let decoded = try goAway.payload.withUnsafeBytes { try GoAway(payload: $0) }
        #expect(decoded.code == .ok)
        #expect(decoded.lastStreamID == 1)
        let response = try #require(frames.first { $0.type == .response && $0.streamID == 1 })
        #expect(try code(response) == .ok)
        #expect(frames.firstIndex { $0.type == .goAway }! < frames.firstIndex { $0.type == .response }!)
        #expect(closed)
    }
}

/// Variable-length requests batched through the server with padding and a mask.
@Suite struct PaddedBatchingServerTests {
    static let modelFile = TestEnvironment.repositoryRoot + "/Tests/Fixtures/zoo/encoder_padding_dynamo/model.onnx"

    @Test func sequencesOfDifferentLengthsShareBatchesAndGetTheirOwnAnswers() async throws {
        let repository = try ModelRepositoryFixture(config: """
            {"max_batch_size": 16, "dynamic_batching": {"max_queue_delay_us": 20000,
             "padding": {"dimension": "seq", "mask_input": "padding_mask"}}}
            """, name: "encoder", modelFile: Self.modelFile)
        let server = try ServerProcess(models: repository.root)
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        #expect(try client.modelMetadata(model: "encoder").config["padding_dimension"] == "seq")
        let engine = try Model(contentsOf: Self.modelFile)
        let mismatches = try await withThrowingTaskGroup(of: Float.self) { group in
            for id in 0..<12 {
                group.addTask {
                    let length = 2 + id % 5
                    let values: [Float] = (0..<length * 16).map { (index: Int) -> Float in Float((index * 3 + id * 7) % 13) * 0.1 - 0.6 }
                    let x = try WireTensor(name: "x", shape: [1, length, 16], floats: values)
                    let mask = try WireTensor(name: "padding_mask", dataType: .bool, shape: [1, length], data: Array(repeating: 0, count: length))
                    let served = try #require(try await client.infer(model: "encoder", inputs: [x, mask])["y"]?.floats)
                    let alone = try engine.run(["x": Tensor(shape: [1, length, 16], scalars: values),
                                                "padding_mask": Tensor(shape: [1, length], bools: Array(repeating: false, count: length))])[0].scalars
                    #expect(served.count == alone.count)
                    return zip(served, alone).map { abs($0 - $1) }.max() ?? .infinity
                }
            }
            return try await group.reduce(Float(0)) { max($0, $1) }
        }
        #expect(mismatches <= 1e-5)
        let stats = try #require(try client.stats(model: "encoder").first)
        #expect(stats.batchSizes.keys.contains { $0 > 1 }, "no padded batch formed: \(stats.batchSizes)")
    }
}
