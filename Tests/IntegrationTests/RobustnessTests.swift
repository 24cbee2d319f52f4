import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport
#if canImport(Glibc)
import Glibc
#endif

/// Malformed and hostile input: a clear status or a clean close, and the server keeps serving.
@Suite(.serialized) struct RobustnessTests {
    let server: ServerProcess
    let client: TensorWireClient
    let good: WireTensor

    init() throws {
        server = try ServerProcess()
        client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        good = try WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0.25, count: 10))
    }

    private func expectServerStillServes() throws {
        #expect(server.isRunning)
        #expect(try client.infer(model: "credit_default", inputs: [good])["probabilities"]?.shape == [1, 2])
        let fresh = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        #expect(try fresh.infer(model: "credit_default", inputs: [good])["probabilities"]?.shape == [1, 2])
    }

    private func goAwayCode(_ frames: [RawConnection.ReceivedFrame]) throws -> StatusCode? {
        guard let frame = frames.first(where: { $0.type == .goAway }) else { return nil }
        return try frame.payload.withUnsafeBytes { try GoAway(payload: $0).code }
    }

    @Test func wrongPrefaceIsClosed() throws {
        let raw = try RawConnection(port: server.port)
        try raw.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let (_, closed) = try raw.readUntilClosed()
        #expect(closed)
        try expectServerStillServes()
    }

    @Test func reservedHeaderBitsGetGoAway() throws {
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        // A PING frame header with the reserved field set.
        try raw.send([8, 0, 0, 0, FrameType.ping.rawValue, 0, 0xFF, 0xFF, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        let (frames, closed) = try raw.readUntilClosed()
        #expect(try goAwayCode(frames) != nil)
        #expect(closed)
        try expectServerStillServes()
    }

    @Test func oversizedFrameIsRefusedFromItsHeader() throws {
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        // Announces a 1 GiB payload; the server must refuse without waiting for (or buffering) it.
        try raw.send([0, 0, 0, 0x40, FrameType.request.rawValue, 0, 0, 0, 1, 0, 0, 0])
        let (frames, closed) = try raw.readUntilClosed()
        #expect(try goAwayCode(frames) == .resourceExhausted)
        #expect(closed)
        try expectServerStillServes()
    }

    @Test func garbageAfterHandshakeIsAConnectionError() throws {
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        var generator = SystemRandomNumberGenerator()
        try raw.send((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let (_, closed) = try raw.readUntilClosed()
        #expect(closed)
        try expectServerStillServes()
    }

    @Test func malformedRequestBodyIsAStreamErrorNotAConnectionError() throws {
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        try raw.send { writer in
            writer.writeRequest(streamID: 1, head: RequestHead(method: MethodName.infer)) { w, _ in
                w.writeBytes([0xFF, 0xFF, 0x01])  // string length 65535 with one byte behind it
            }
            writer.writeRequest(streamID: 3, head: RequestHead(method: MethodName.listModels)) { _, _ in }
        }
        let frames = try raw.readFrames(until: { $0.filter { $0.type == .response }.count == 2 })
        let responses = frames.filter { $0.type == .response }
        #expect(responses.map(\.streamID) == [1, 3])
        let codes = try responses.map { frame in
            try frame.payload.withUnsafeBytes { try ResponseFrame(payload: $0, limits: .default).head.status.code }
        }
        #expect(codes == [.invalidArgument, .ok])
        try expectServerStillServes()
    }

    @Test func nonIncreasingStreamIDIsAConnectionError() throws {
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        try raw.send { writer in
            writer.writeRequest(streamID: 5, head: RequestHead(method: MethodName.listModels)) { _, _ in }
            writer.writeRequest(streamID: 5, head: RequestHead(method: MethodName.listModels)) { _, _ in }
        }
        let (frames, closed) = try raw.readUntilClosed()
        #expect(frames.contains { $0.type == .response && $0.streamID == 5 })
        #expect(try goAwayCode(frames) != nil)
        #expect(closed)
        try expectServerStillServes()
    }

    @Test func pingIsAnswered() throws {
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        try raw.send { $0.writePing(0x0102_0304_0506_0708) }
        let frames = try raw.readFrames(until: { $0.contains { $0.type == .pong } })
        let pong = try #require(frames.first { $0.type == .pong })
        #expect(try pong.payload.withUnsafeBytes { try decodePingPayload($0) } == 0x0102_0304_0506_0708)
    }

    @Test func plaintextClientIsRejectedWithoutHarm() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let request = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + ConnectionPreface.bytes
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            total += count
        }
        #expect(total < 4096)  // at most a TLS alert, never protocol data
        try expectServerStillServes()
    }

    @Test func abruptDisconnectMidRequestDoesNotDisturbOthers() throws {
        for _ in 0..<5 {
            let raw = try RawConnection(port: server.port)
            try raw.handshake()
            var writer = ByteWriter()
            writer.writeRequest(streamID: 1, head: RequestHead(method: MethodName.infer)) { w, start in
                w.writeInferRequest(modelName: "credit_default", modelVersion: 0, inputs: [good], requestedOutputs: [], payloadStart: start)
            }
            let partial = writer.withUnsafeReadableBytes { Array($0.prefix($0.count / 2)) }
            try raw.send(partial)
            raw.socket.close()
        }
        try expectServerStillServes()
    }
}

/// SIGTERM: the server tells connected clients it is going away (GOAWAY OK, with the last
/// stream it processed) before it closes, so they know which requests are safe to retry.
@Suite struct GracefulShutdownTests {
    @Test func sigtermSendsGoAwayOKWithTheLastProcessedStream() throws {
        let server = try ServerProcess()
        let raw = try RawConnection(port: server.port)
        try raw.handshake()
        try raw.send { writer in
            writer.writeRequest(streamID: 9, head: RequestHead(method: MethodName.serverInfo)) { _, _ in }
        }
        #expect(try raw.readFrames(until: { $0.contains { $0.type == .response } }).contains { $0.streamID == 9 })
        server.process.terminate()  // SIGTERM
        let (frames, closed) = try raw.readUntilClosed()
        let goAwayFrame = try #require(frames.first { $0.type == .goAway })
        let goAway = try goAwayFrame.payload.withUnsafeBytes { try GoAway(payload: $0) }
        #expect(goAway.code == .ok)
        #expect(goAway.lastStreamID == 9)
        #expect(closed)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
    }
}
