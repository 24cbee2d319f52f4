import Foundation
import Synchronization
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

/// A server that completes the protocol handshake and then never answers: the client's
/// deadline, not the server, must end each call, and the client must tell the server it gave up.
final class SilentSession: ConnectionHandler {
    private var decoder = FrameDecoder(expectsPreface: true)
    let cancelled: Mutex<[UInt32]>

    init(cancelled: Mutex<[UInt32]>) { self.cancelled = cancelled }

    func connectionDidBecomeActive(_ connection: TLSConnection) {}
    func connectionDidClose(_ connection: TLSConnection) {}

    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
        decoder.append(bytes)
        while let frame = try? decoder.next() {
            switch frame.header.type {
            case .hello:
                var writer = ByteWriter()
                writer.writeHelloAck(HelloAck(serverName: "silent"))
                writer.withUnsafeReadableBytes { connection.write($0) }
            case .cancel:
                cancelled.withLock { $0.append(frame.header.streamID) }
            default:
                break
            }
        }
    }
}

@Suite(.serialized) struct DeadlineTests {
    let server: TLSServer
    let port: Int
    let cancelled: Mutex<[UInt32]>
    let client: TensorWireClient

    init() throws {
        let certificates = TestEnvironment.certificates
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
        let cancelled = Mutex<[UInt32]>([])
        self.cancelled = cancelled
        server = TLSServer(configuration: TLSServerConfiguration(), tls: context) { _ in SilentSession(cancelled: cancelled) }
        port = try server.start()
        client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: port, clientCertificate: false))
    }

    private var input: WireTensor { try! WireTensor(name: "x", shape: [1], floats: [1]) }

    @Test func blockingCallEndsAtItsDeadline() throws {
        let start = ContinuousClock.now
        let error = #expect(throws: RPCError.self) {
            _ = try client.infer(model: "m", inputs: [input], timeout: .milliseconds(200))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .deadlineExceeded)
        #expect(elapsed >= .milliseconds(200))
        #expect(elapsed < .seconds(5))
        // The client told the server to stop working on it.
        let deadline = ContinuousClock.now + .seconds(5)
        while cancelled.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(cancelled.withLock { $0 } == [1])
        server.stop()
    }

    @Test func asyncCallsEndAtTheirOwnDeadlines() async throws {
        let client = self.client
        let input = self.input
        let codes = try await withThrowingTaskGroup(of: StatusCode?.self) { group in
            for milliseconds in [100, 150, 300] {
                group.addTask {
                    do { _ = try await client.infer(model: "m", inputs: [input], timeout: .milliseconds(milliseconds)) } catch {
                        return error.code
                    }
                    return nil
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes == [.deadlineExceeded, .deadlineExceeded, .deadlineExceeded])
        server.stop()
    }

    @Test func cancellingATaskCancelsTheCall() async throws {
        let client = self.client
        let input = self.input
        let task = Task { () -> StatusCode? in
            do { _ = try await client.infer(model: "m", inputs: [input], timeout: .seconds(30)) } catch { return error.code }
            return nil
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        #expect(await task.value == .cancelled)
        server.stop()
    }
}
