import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

/// Stream ids the silent server (handshake, then never an answer) saw cancelled.
final class CancelLog: Sendable {
    let streams = Locked<[UInt32]>([])
}

@Suite(.serialized) struct DeadlineTests {
    let server: TLSServer
    let port: Int
    let cancelled = CancelLog()
    let client: TensorWireClient

    init() throws {
        let certificates = TestEnvironment.certificates
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
        let cancelled = self.cancelled
        // Completes the handshake and then never answers: the client's deadline, not the server,
        // must end each call, and the client must tell the server it gave up.
        server = TLSServer(configuration: TLSServerConfiguration(), tls: context) { _ in
            ScriptedSession { header, _, _ in
                if header.type == .cancel { cancelled.streams.withLock { $0.append(header.streamID) } }
            }
        }
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
        while cancelled.streams.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(cancelled.streams.withLock { $0 } == [1])
        server.stop()
    }

    @Test func asyncCallsEndAtTheirOwnDeadlines() async throws {
        let client = self.client
        let input = self.input
        let codes = try await withThrowingTaskGroup(of: StatusCode?.self) { group in
            for milliseconds in [100, 150, 300] {
                group.addTask {
                    do { _ = try await client.infer(model: "m", inputs: [input], timeout: .milliseconds(milliseconds)) } catch {
                        return (error as? RPCError)?.code
                    }
                    return nil
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes == [StatusCode?](repeating: .deadlineExceeded, count: 3))
        server.stop()
    }

    @Test func cancellingATaskCancelsTheCall() async throws {
        let client = self.client
        let input = self.input
        let task = Task { () -> StatusCode? in
            do { _ = try await client.infer(model: "m", inputs: [input], timeout: .seconds(30)) } catch { return (error as? RPCError)?.code }
            return nil
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let code = await task.value
        #expect(code == .cancelled)
        server.stop()
    }
}
