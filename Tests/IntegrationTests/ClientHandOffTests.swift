import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

/// Holds the first three requests, answers the first two in one write and the third 200 ms later.
final class StaggeredSession: ConnectionHandler, @unchecked Sendable {
    private var decoder = FrameDecoder(expectsPreface: true)
    private var streams: [UInt32] = []

    func connectionDidBecomeActive(_ connection: TLSConnection) {}
    func connectionDidClose(_ connection: TLSConnection) {}

    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
        decoder.append(bytes)
        var writer = ByteWriter()
        while let frame = try? decoder.next() {
            switch frame.header.type {
            case .hello: writer.writeHelloAck(HelloAck(serverName: "staggered"))
            case .request: streams.append(frame.header.streamID)
            default: break
            }
        }
        if streams.count == 3 {
            for stream in streams.prefix(2) { writer.writeResponse(streamID: stream, head: ResponseHead(status: .ok)) { _, _ in } }
            let last = streams[2]
            streams.append(0)  // answered: ignore further reads
            Thread.detachNewThread {
                usleep(200_000)
                connection.eventLoop.execute {
                    var late = ByteWriter()
                    late.writeResponse(streamID: last, head: ResponseHead(status: .ok)) { _, _ in }
                    late.withUnsafeReadableBytes { connection.write($0) }
                }
            }
        }
        writer.withUnsafeReadableBytes { if $0.count > 0 { connection.write($0) } }
    }
}

@Suite struct ClientHandOffTests {
    /// The reader receives its own answer and a parked caller's in one pass. The reader role
    /// must pass to the caller still waiting, not to the one whose answer just came, or the
    /// last caller sleeps until its deadline with nobody reading its response.
    @Test func readerRolePassesToACallerStillWaiting() throws {
        let certificates = TestEnvironment.certificates
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
        let server = TLSServer(configuration: TLSServerConfiguration(), tls: context) { _ in StaggeredSession() }
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
