import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

@Suite struct ClientHandOffTests {
    /// The reader receives its own answer and a parked caller's in one pass. The reader role
    /// must pass to the caller still waiting, not to the one whose answer just came, or the
    /// last caller sleeps until its deadline with nobody reading its response.
    @Test func readerRolePassesToACallerStillWaiting() throws {
        let certificates = TestEnvironment.certificates
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
        // Holds the first three requests, answers the first two in one write and the third
        // 200 ms later.
        let server = TLSServer(configuration: TLSServerConfiguration(), tls: context) { _ in
            var streams: [UInt32] = []
            return ScriptedSession { header, writer, connection in
                guard header.type == .request else { return }
                streams.append(header.streamID)
                guard streams.count == 3 else { return }
                for stream in streams.prefix(2) { writer.writeResponse(streamID: stream, head: ResponseHead(status: .ok)) { _, _ in } }
                let last = streams[2]
                Thread.detachNewThread {
                    usleep(200_000)
                    connection.eventLoop.execute {
                        var late = ByteWriter()
                        late.writeResponse(streamID: last, head: ResponseHead(status: .ok)) { _, _ in }
                        late.withUnsafeReadableBytes { connection.write($0) }
                    }
                }
            }
        }
        let port = try server.start()
        defer { server.stop() }
        var configuration = TestEnvironment.clientConfiguration(port: port, clientCertificate: false)
        configuration.defaultTimeout = .seconds(5)
        let client = try TensorWireClient(configuration: configuration)
        let elapsed = Locked<[Int: Duration]>([:])
        var threads: [Thread] = []
        let done = DispatchGroup()
        for index in 0..<3 {
            done.enter()
            let thread = Thread {
                let start = ContinuousClock.now
                _ = try? client.call(method: "Echo")
                elapsed.withLock { $0[index] = ContinuousClock.now - start }
                done.leave()
            }
            threads.append(thread)
            thread.start()
            usleep(50_000)  // fixes the order: the first caller reads, the others park in turn
        }
        done.wait()
        let times = elapsed.withLock { $0 }
        #expect(times.count == 3)
        #expect(times[2]! < .seconds(2), "the last caller waited \(times[2]!) for an answer sent after 200 ms")
    }
}
