import Testing
import TensorWireProtocol

@Suite("FrameDecoder")
struct DecoderTests {
    @Test func oversizeIsDetectedFromTheHeaderAlone() {
        var header = clientOpening()
        header += [0x01, 0x00, 0x40, 0x00, 3, 0, 0, 0, 1, 0, 0, 0]  // length 4 MiB + 1, REQUEST, stream 1
        guard case .error(let e, framesBefore: 1) = decodeAll(header) else { Issue.record("expected error"); return }
        #expect(e.code == .resourceExhausted)
    }

    @Test func errorsAreSticky() {
        var d = FrameDecoder(expectsPreface: true)
        let bad: [UInt8] = Array("GET /".utf8)
        bad.withUnsafeBytes { d.append($0) }
        #expect(throws: ConnectionError.self) { _ = try d.next() }
        let good = clientOpening()
        good.withUnsafeBytes { d.append($0) }
        #expect(throws: ConnectionError.self) { _ = try d.next() }
    }

    @Test func prefaceMismatchIsReportedOnFirstByte() {
        var d = FrameDecoder(expectsPreface: true)
        [UInt8(0x16)].withUnsafeBytes { d.append($0) }  // a TLS ClientHello inside TLS, or plaintext
        #expect(throws: ConnectionError.self) { _ = try d.next() }
    }

    @Test func raisingMaxPayloadSize() throws {
        let big = clientOpening() + encode {
            $0.writeRequest(streamID: 1, head: RequestHead(method: "Infer")) { w, _ in w.writeZeros(20_000) }
        }
        guard case .error(let e, _) = decodeAll(big, maxPayloadSize: 16 << 10) else { Issue.record("expected error"); return }
        #expect(e.code == .resourceExhausted)
        var d = FrameDecoder(maxPayloadSize: 16 << 10, expectsPreface: true)
        big.withUnsafeBytes { d.append($0) }
        #expect(try d.next()?.header.type == .hello)
        d.maxPayloadSize = 1 << 20  // after HELLO settings are agreed
        #expect(try d.next()?.payload.count == 20_064)
    }

    @Test func clientSideRules() {
        let ack = encode { $0.writeHelloAck(HelloAck()) }
        guard case .frames(let f, leftover: 0) = decodeAll(ack, server: false) else { Issue.record("ack"); return }
        #expect(f.map(\.header.type) == [.helloAck])
        let twice = ack + ack
        guard case .error = decodeAll(twice, server: false) else { Issue.record("duplicate ack accepted"); return }
        let hello = encode { $0.writeHello(Hello()) }
        guard case .error = decodeAll(hello, server: false) else { Issue.record("client accepted HELLO"); return }
    }

    @Test func requestStreamIDsMustIncrease() {
        func req(_ id: UInt32) -> [UInt8] {
            encode { $0.writeRequest(streamID: id, head: RequestHead(method: "ListModels")) { _, _ in } }
        }
        guard case .frames(let ok, leftover: 0) = decodeAll(clientOpening() + req(1) + req(2) + req(1000) + encode { $0.writeCancel(streamID: 2) }) else {
            Issue.record("increasing ids rejected"); return
        }
        #expect(ok.count == 5)
        guard case .error(_, framesBefore: 3) = decodeAll(clientOpening() + req(2) + req(5) + req(4)) else {
            Issue.record("decreasing id accepted"); return
        }
    }

    /// Assorted payload sizes, including ones above the scratch threshold, back to back and in
    /// random splits: every payload must come out intact and 64-byte aligned.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func alignmentAcrossSizesAndSplits(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        var w = ByteWriter()
        w.writePreface()
        w.writeHello(Hello())
        var expected: [[UInt8]] = []
        for id in UInt32(1)...60 {
            let size = [0, 1, 63, 64, 65, 1000, 16_000, 16_384, 16_385, 70_000, 300_000].randomElement(using: &rng)!
            let body = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let start = w.count + FrameHeader.size
            w.writeRequest(streamID: id, head: RequestHead(method: "Blob")) { w, _ in w.writeBytes(body) }
            expected.append(w.withUnsafeReadableBytes { Array($0[start...]) })
        }
        let bytes = w.bytes
        let chunks = randomChunks(total: bytes.count, maxChunk: seed % 2 == 0 ? 100_000 : 4_096, rng: &rng)
        guard case .frames(let frames, leftover: 0) = decodeAll(bytes, chunks: chunks) else { Issue.record("decode"); return }
        #expect(frames.count == 61)
        #expect(frames.dropFirst().map(\.payload) == expected)
        #expect(frames.allSatisfy { $0.payloadWasAligned })
    }

    /// After warm-up the buffer stops growing: steady state reuses it.
    @Test func steadyStateDoesNotGrow() throws {
        var d = FrameDecoder(expectsPreface: true)
        clientOpening().withUnsafeBytes { d.append($0) }
        _ = try d.next()
        var w = ByteWriter()
        var capacities: Set<Int> = []
        for round in UInt32(1)...300 {
            w.clear()
            w.writeRequest(streamID: round, head: RequestHead(method: "Infer")) { w, _ in w.writeZeros(Int(round % 7) * 5_000) }
            w.writePing(UInt64(round))
            w.withUnsafeReadableBytes { d.append($0) }
            #expect(try d.next()?.header.type == .request)
            #expect(try d.next()?.header.type == .ping)
            #expect(try d.next() == nil)
            if round > 10 { capacities.insert(d.bufferCapacity) }
        }
        #expect(capacities.count == 1)
    }

    @Test func releaseExcessCapacityKeepsPendingBytes() throws {
        var d = FrameDecoder(expectsPreface: true)
        let big = clientOpening() + encode {
            $0.writeRequest(streamID: 1, head: RequestHead(method: "Infer")) { w, _ in w.writeZeros(1 << 20) }
            $0.writePing(9)
        }
        let cut = big.count - 5  // leave the PING incomplete
        big[..<cut].withUnsafeBytes { d.append($0) }
        #expect(try d.next()?.header.type == .hello)
        #expect(try d.next()?.payload.count == (1 << 20) + 64)
        #expect(d.bufferCapacity > 1 << 20)
        d.releaseExcessCapacity()
        #expect(d.bufferCapacity == 64 << 10)
        big[cut...].withUnsafeBytes { d.append($0) }
        #expect(try d.next().map { try decodePingPayload($0.payload) } == 9)

        var w = ByteWriter()
        w.writeZeros(100_000)
        w.discardPrefix(99_990)
        w.releaseExcessCapacity()
        #expect(w.reservedCapacity == 4096 && w.count == 10)
    }

    @Test func appendInPlace() throws {
        let bytes = clientOpening() + encode { $0.writePing(5) }
        var d = FrameDecoder(expectsPreface: true)
        var offset = 0
        while offset < bytes.count {
            d.appendInPlace(minimumCount: 7) { buf in
                let n = min(7, bytes.count - offset, buf.count)
                for i in 0..<n { buf[i] = bytes[offset + i] }
                offset += n
                return n
            }
        }
        #expect(try d.next()?.header.type == .hello)
        #expect(try d.next().map { try decodePingPayload($0.payload) } == 5)
        #expect(try d.next() == nil)
        #expect(d.bufferedByteCount == 0)
    }

    /// Random garbage after a valid opening never traps; the decoder either errors or waits.
    @Test func garbageNeverTraps() {
        var rng = SeededRNG(seed: 99)
        var errors = 0
        for _ in 0..<2_000 {
            let n = Int.random(in: 0...200, using: &rng)
            let garbage = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if case .error = decodeAll(clientOpening() + garbage, maxPayloadSize: 16 << 10) { errors += 1 }
        }
        #expect(errors > 1_000)
    }

    /// Single-byte mutations of a valid Infer stream: every frame and body parser either
    /// succeeds or throws; nothing traps or reads out of bounds.
    @Test func mutatedFramesNeverTrap() throws {
        let input = try WireTensor(name: "x", shape: [2, 2], floats: [1, 2, 3, 4])
        let valid = clientOpening() + encode {
            $0.writeRequest(streamID: 1, head: RequestHead(method: MethodName.infer, metadata: ["k": "v"])) { w, s in
                w.writeInferRequest(modelName: "m", modelVersion: 1, inputs: [input, input], requestedOutputs: ["y"], payloadStart: s)
            }
        }
        var rng = SeededRNG(seed: 7)
        var outcomes: [String: Int] = [:]
        for _ in 0..<3_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes[Int.random(in: 8..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            var d = FrameDecoder(expectsPreface: true)
            bytes.withUnsafeBytes { d.append($0) }
            var outcome = "ok"
            do {
                while let f = try d.next() {
                    switch f.header.type {
                    case .hello: _ = try Hello(payload: f.payload)
                    case .request:
                        let r = try RequestFrame(payload: f.payload, limits: .default)
                        _ = try InferRequestView(body: r.body, bodyOffset: r.bodyOffset, limits: .default)
                    default: break
                    }
                }
            } catch let e as ConnectionError {
                outcome = "connection \(e.code)"
            } catch let e as Status {
                outcome = "stream \(e.code)"
            }
            outcomes[outcome, default: 0] += 1
        }
        #expect(outcomes.count > 2)
    }

    /// Every strict prefix of a payload is rejected, never over-read.
    @Test func truncatedPayloadsAreRejected() throws {
        let input = try WireTensor(name: "x", dataType: .uint8, shape: [3], data: [1, 2, 3])
        let bytes = encode {
            $0.writeRequest(streamID: 1, head: RequestHead(method: MethodName.infer, metadata: ["a": "b"])) { w, s in
                w.writeInferRequest(modelName: "m", modelVersion: 1, inputs: [input], requestedOutputs: ["y"], payloadStart: s)
            }
        }
        let payload = Array(bytes.dropFirst(FrameHeader.size))
        for cut in 0..<payload.count {
            let prefix = Array(payload.prefix(cut))
            #expect(throws: Status.self) {
                try prefix.withUnsafeBytes { p in
                    let r = try RequestFrame(payload: p, limits: .default)
                    _ = try InferRequestView(body: r.body, bodyOffset: r.bodyOffset, limits: .default)
                }
            }
        }
        let hello = Array(encode { $0.writeHello(Hello(authToken: "tok")) }.dropFirst(FrameHeader.size))
        for cut in 0..<hello.count {
            #expect(throws: ConnectionError.self) { try Array(hello.prefix(cut)).withUnsafeBytes { _ = try Hello(payload: $0) } }
        }
    }
}
