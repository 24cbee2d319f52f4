import Foundation
import TensorWireProtocol
import TensorWireTransport

/// A TLS connection that sends hand-made bytes, for tests that misbehave on purpose.
final class RawConnection {
    let socket: TLSClientSocket
    private var decoder = FrameDecoder(maxPayloadSize: 64 << 20, expectsPreface: false)

    init(port: Int, certificates: String = TestEnvironment.certificates) throws {
        let context = try TLSContext(configuration: .client(
            trustRootsFile: certificates + "/ca.pem",
            certificateChainFile: certificates + "/client.pem", privateKeyFile: certificates + "/client-key.pem"))
        socket = try TLSClientSocket.connect(host: "127.0.0.1", port: port, context: context,
                                             serverName: "127.0.0.1", timeout: .seconds(5))
    }

    deinit { socket.close() }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try socket.writeAll($0, timeout: .seconds(5)) }
    }

    func send(_ build: (inout ByteWriter) -> Void) throws {
        var writer = ByteWriter()
        build(&writer)
        try writer.withUnsafeReadableBytes { bytes in try socket.writeAll(bytes, timeout: .seconds(5)) }
    }

    /// Sends the preface and a HELLO, and consumes the HELLO_ACK.
    func handshake() throws {
        try send { writer in
            writer.writePreface()
            writer.writeHello(Hello())
        }
        let frames = try readFrames(until: { $0.contains { $0.type == .helloAck } })
        precondition(frames.first?.type == .helloAck)
    }

    struct ReceivedFrame {
        var type: FrameType
        var streamID: UInt32
        var payload: [UInt8]
    }

    /// Reads frames until `stop` says so, the server closes, or 5 s pass. Returns what arrived.
    func readFrames(until stop: ([ReceivedFrame]) -> Bool = { _ in false }) throws -> [ReceivedFrame] {
        var frames: [ReceivedFrame] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 64)
        defer { buffer.deallocate() }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            while let frame = try decoder.next() {
                frames.append(ReceivedFrame(type: frame.header.type, streamID: frame.header.streamID, payload: Array(frame.payload)))
                if stop(frames) { return frames }
            }
            switch try socket.read(into: buffer) {
            case .bytes(let count): decoder.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            case .closed: return frames
            case .wouldBlock: if !socket.hasBufferedData { _ = socket.waitUntilReadable(timeout: .milliseconds(100)) }
            }
        }
        return frames
    }

    /// True if the server closed the connection (after whatever frames it sent).
    func readUntilClosed() throws -> (frames: [ReceivedFrame], closed: Bool) {
        var closed = false
        let frames = try readFrames(until: { _ in false })
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 64)
        defer { buffer.deallocate() }
        if case .closed = (try? socket.read(into: buffer)) ?? .closed { closed = true }
        return (frames, closed)
    }
}
