import Testing
import TensorWireProtocol

/// Decodes `bytes` (server or client side), expects exactly the frames produced, and hands the
/// last one to `body` while its payload is still valid.
func withLastFrame<R>(_ bytes: [UInt8], server: Bool, _ body: (FrameView) throws -> R) throws -> R {
    var decoder = FrameDecoder(expectsPreface: server)
    bytes.withUnsafeBytes { decoder.append($0) }
    var frames: [FrameHeader] = []
    // Drain all but keep the last view valid: decode twice, second time stop at the last frame.
    while let f = try decoder.next() { frames.append(f.header) }
    var again = FrameDecoder(expectsPreface: server)
    bytes.withUnsafeBytes { again.append($0) }
    for _ in 0..<(frames.count - 1) { _ = try again.next() }
    let last = try #require(try again.next())
    #expect(Int(bitPattern: last.payload.baseAddress) % 64 == 0)
    return try body(last)
}

private let limits = MessageLimits.default

@Suite("Round trips")
struct RoundTripTests {
    @Test func hello() throws {
        let hello = Hello(minVersion: 1, maxVersion: 7,
                          settings: ConnectionSettings(maxFrameSize: 1 << 20, maxConcurrentStreams: 9, maxMetadataSize: 100),
                          authToken: String(repeating: "t", count: Hello.maxAuthTokenLength))
        let bytes = encode { $0.writePreface(); $0.writeHello(hello) }
        #expect(Array(bytes.prefix(8)) == ConnectionPreface.bytes)
        let decoded = try withLastFrame(bytes, server: true) { try Hello(payload: $0.payload) }
        #expect(decoded == hello)
        #expect(decoded.negotiatedVersion() == 1)
    }

    @Test func helloAckPingPongGoAway() throws {
        let ack = HelloAck(version: 1, settings: ConnectionSettings(), serverName: "tensorwire-ü")
        let goAway = GoAway(lastStreamID: 41, code: StatusCode(rawValue: 77), message: "draining")
        let opening = encode { $0.writeHelloAck(ack) }
        #expect(try withLastFrame(opening, server: false) { try HelloAck(payload: $0.payload) } == ack)
        let ping = opening + encode { $0.writePing(0xDEAD_BEEF_0000_0001) }
        #expect(try withLastFrame(ping, server: false) { try decodePingPayload($0.payload) } == 0xDEAD_BEEF_0000_0001)
        let pong = opening + encode { $0.writePong(42) }
        try withLastFrame(pong, server: false) { f throws in
            #expect(f.header.type == .pong)
            #expect(try decodePingPayload(f.payload) == 42)
        }
        let ga = opening + encode { $0.writeGoAway(goAway) }
        let decoded = try withLastFrame(ga, server: false) { try GoAway(payload: $0.payload) }
        #expect(decoded == goAway)
        #expect(decoded.code.rawValue == 77 && decoded.code.canonical == .unknown && decoded.code.name == "UNKNOWN(77)")
    }

    @Test func cancel() throws {
        let bytes = clientOpening() + encode { $0.writeCancel(streamID: 9) }
        try withLastFrame(bytes, server: true) { f throws in
            #expect(f.header == FrameHeader(payloadLength: 0, type: .cancel, flags: 0, streamID: 9))
        }
    }

    @Test func inferRequest() throws {
        let inputs = [
            try WireTensor(name: "input", shape: [2, 3], floats: [1, 2, 3, 4, 5, -6.5]),
            try WireTensor(name: "ids", dataType: .int64, shape: [1], data: [1, 0, 0, 0, 0, 0, 0, 0x80]),
            try WireTensor(name: "flag", dataType: .bool, shape: [], data: [1]),
            try WireTensor(name: "empty", dataType: .bfloat16, shape: [0, 5], data: []),
        ]
        let head = RequestHead(method: MethodName.infer, timeoutMicroseconds: 5_000, metadata: ["x-id": "42", "x-id": "43"])
        let bytes = clientOpening() + encode {
            $0.writeRequest(streamID: 1, head: head) { w, start in
                w.writeInferRequest(modelName: "resnet", modelVersion: 3, inputs: inputs, requestedOutputs: ["a", "b"], payloadStart: start)
            }
        }
        try withLastFrame(bytes, server: true) { f throws in
            let req = try RequestFrame(payload: f.payload, limits: limits)
            #expect(req.head == head)
            #expect(req.head.metadata["x-id"] == "42")
            #expect(req.head.metadata.values(for: "x-id") == ["42", "43"])
            #expect(req.bodyOffset % 64 == 0)
            let view = try InferRequestView(body: req.body, bodyOffset: req.bodyOffset, limits: limits)
            #expect(view.modelName == "resnet" && view.modelVersion == 3)
            #expect(view.requestedOutputs == ["a", "b"])
            #expect(view.inputs.map { WireTensor(copying: $0) } == inputs)
            for t in view.inputs where !t.data.isEmpty {
                #expect(Int(bitPattern: t.data.baseAddress) % 64 == 0, "tensor \(t.name) data not aligned")
            }
            #expect(WireTensor(copying: view.inputs[0]).floats == [1, 2, 3, 4, 5, -6.5])
            #expect(WireTensor(copying: view.inputs[1]).floats == nil)
        }
    }

    /// The server path: outputs written straight from engine memory, without [UInt8] copies.
    @Test func inferResponseFromEngineBuffers() throws {
        let engineOutput: [Float] = (0..<1000).map { Float($0) * 0.5 }
        let ack = encode { $0.writeHelloAck(HelloAck()) }
        let bytes = ack + encode { w in
            w.writeResponse(streamID: 7, head: ResponseHead(status: .ok, metadata: ["server-timing": "1"])) { w, start in
                w.writeInferResponseHead(modelName: "m", modelVersion: 2, outputCount: 2)
                engineOutput.withUnsafeBytes {
                    w.writeTensor(name: "probs", dataType: .float32, shape: [10, 100], bytes: $0, payloadStart: start)
                }
                w.writeTensor(name: "argmax", dataType: .int32, shape: [1], payloadStart: start) { out in
                    #expect(out.count == 4)
                    out.storeBytes(of: Int32(999).littleEndian, as: Int32.self)
                }
            }
        }
        try withLastFrame(bytes, server: false) { f throws in
            let resp = try ResponseFrame(payload: f.payload, limits: limits)
            #expect(resp.head.status == .ok)
            let view = try InferResponseView(body: resp.body, bodyOffset: resp.bodyOffset, limits: limits)
            #expect(view.modelName == "m" && view.modelVersion == 2 && view.outputs.count == 2)
            #expect(WireTensor(copying: view.outputs[0]).floats == engineOutput)
            #expect(view.outputs[1].data.loadUnaligned(as: Int32.self) == 999)
            for t in view.outputs { #expect(Int(bitPattern: t.data.baseAddress) % 64 == 0) }
        }
        // The owned convenience produces identical bytes.
        let probs = try WireTensor(name: "probs", shape: [10, 100], floats: engineOutput)
        let argmax = try WireTensor(name: "argmax", dataType: .int32, shape: [1], data: [0xE7, 3, 0, 0])
        let owned = ack + encode { w in
            w.writeResponse(streamID: 7, head: ResponseHead(status: .ok, metadata: ["server-timing": "1"])) { w, start in
                w.writeInferResponse(modelName: "m", modelVersion: 2, outputs: [probs, argmax], payloadStart: start)
            }
        }
        #expect(owned == bytes)
    }

    @Test func errorResponse() throws {
        let bytes = encode { $0.writeHelloAck(HelloAck()); $0.writeResponse(streamID: 3, status: Status(.notFound, "no model x")) }
        try withLastFrame(bytes, server: false) { f throws in
            let resp = try ResponseFrame(payload: f.payload, limits: limits)
            #expect(resp.head.status == Status(.notFound, "no model x"))
            #expect(resp.body.isEmpty)
            #expect(f.payload.count == 64, "head is padded even without a body")
        }
    }

    /// Round-trips a tensor-free body through a REQUEST and a RESPONSE frame.
    func roundTrip<B: WireMessageBody & Equatable>(_ body: B, method: String) throws {
        let req = clientOpening() + encode {
            $0.writeRequest(streamID: 5, head: RequestHead(method: method)) { w, start in body.encode(into: &w, payloadStart: start) }
        }
        let fromRequest = try withLastFrame(req, server: true) { f throws in
            let r = try RequestFrame(payload: f.payload, limits: limits)
            #expect(r.head.method == method)
            return try B(body: r.body, bodyOffset: r.bodyOffset, limits: limits)
        }
        #expect(fromRequest == body)
        let resp = encode {
            $0.writeHelloAck(HelloAck())
            $0.writeResponse(streamID: 5, head: ResponseHead()) { w, start in body.encode(into: &w, payloadStart: start) }
        }
        let fromResponse = try withLastFrame(resp, server: false) { f throws in
            let r = try ResponseFrame(payload: f.payload, limits: limits)
            return try B(body: r.body, bodyOffset: r.bodyOffset, limits: limits)
        }
        #expect(fromResponse == body)
        // Standalone helpers agree.
        let standalone = body.encodedBytes()
        #expect(try standalone.withUnsafeBytes { try B(body: $0) } == body)
    }

    @Test func everyOtherBody() throws {
        try roundTrip(ListModelsRequest(), method: MethodName.listModels)
        try roundTrip(ServerInfoRequest(), method: MethodName.serverInfo)
        try roundTrip(ModelMetadataRequest(name: "bert", version: 0), method: MethodName.modelMetadata)
        for kind in HealthKind.allCases {
            try roundTrip(HealthRequest(kind: kind, modelName: "bert", modelVersion: 2), method: MethodName.health)
        }
        try roundTrip(ListModelsResponse(models: []), method: MethodName.listModels)
        try roundTrip(ListModelsResponse(models: [
            ModelSummary(name: "bert", versions: [1, 2, .max], ready: true),
            ModelSummary(name: "resnet", versions: [], ready: false),
        ]), method: MethodName.listModels)
        try roundTrip(ModelMetadataResponse(
            name: "bert", versions: [3], platform: "onnx",
            inputs: [TensorSpec(name: "ids", dataType: .int64, shape: [-1, 128])],
            outputs: [TensorSpec(name: "logits", dataType: .float16, shape: []), TensorSpec(name: "y", dataType: .bool, shape: [Int](repeating: -1, count: 8))]
        ), method: MethodName.modelMetadata)
        try roundTrip(ServerInfoResponse(name: "tensorwire", version: "0.1.0", extensions: ["a", "b"]), method: MethodName.serverInfo)
        try roundTrip(HealthResponse(serving: true), method: MethodName.health)
        try roundTrip(HealthResponse(serving: false), method: MethodName.health)
        try roundTrip(ModelMetadataResponse(
            name: "credit", versions: [1], platform: "onnx", inputs: [], outputs: [],
            config: ["max_batch_size": "64", "max_queue_delay_us": "100", "preferred_batch_sizes": "8,16"]
        ), method: MethodName.modelMetadata)
        try roundTrip(StatsRequest(), method: MethodName.stats)
        try roundTrip(StatsRequest(modelName: "credit"), method: MethodName.stats)
        try roundTrip(StatsResponse(models: []), method: MethodName.stats)
        try roundTrip(StatsResponse(models: [
            ModelStatistics(name: "credit", version: 1, outcomes: [.ok: 1000, .deadlineExceeded: 3, StatusCode(rawValue: 99): 1],
                            inlineRequests: 10, executions: 80, batchSizes: [1: 10, 16: 60, 64: 10], queueCount: 990,
                            queueNanoseconds: .max, computeCount: 80, computeNanoseconds: 123_456, rejectedQueueFull: 2,
                            expiredInQueue: 3, cancelledInQueue: 4),
            ModelStatistics(name: "", version: 0),
        ]), method: MethodName.stats)
    }

    @Test func framesBackToBackInOneWriter() throws {
        var w = ByteWriter(capacity: 16)
        w.writePreface()
        w.writeHello(Hello())
        for id in UInt32(1)...50 {
            w.writeRequest(streamID: id * 2, head: RequestHead(method: MethodName.health)) { w, s in
                HealthRequest(kind: .live).encode(into: &w, payloadStart: s)
            }
            w.writePing(UInt64(id))
        }
        guard case .frames(let frames, leftover: 0) = decodeAll(w.bytes) else { Issue.record("decode failed"); return }
        #expect(frames.count == 101)
        #expect(frames.allSatisfy { $0.payloadWasAligned })
    }
}
