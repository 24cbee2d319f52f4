import Foundation
import Synchronization
import Testing
@testable import TensorWireTransport

@Suite struct ServerLifecycleTests {
    @Test func stopClosesClientsAndIsIdempotent() throws {
        let server = try TestServer(tls: serverContext()) { $0.eventLoopCount = 2 }
        let clients = try (0..<4).map { _ in try connect(server.port, clientContext()) }
        defer { clients.forEach { $0.close() } }
        for client in clients {
            try client.send([42])
            #expect(try client.receive(1) == [42])
        }
        server.server.stop()
        for client in clients { #expect(client.awaitClose()) }
        #expect(server.events.closed.load(ordering: .relaxed) == 4)
        server.server.stop()
        #expect(throws: TLSError.self) { try connect(server.port, clientContext()) }
    }

    @Test func serverCloseFlushesPendingOutputFirst() throws {
        final class CloseAfterReply: ConnectionHandler {
            func connectionDidBecomeActive(_ connection: TLSConnection) {}
            func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
                let reply = pattern(300_000)
                reply.withUnsafeBytes { connection.write($0) }
                connection.close()
            }
            func connectionDidClose(_ connection: TLSConnection) {}
        }
        let server = TLSServer(configuration: TLSServerConfiguration(), tls: try serverContext()) { _ in CloseAfterReply() }
        let port = try server.start()
        defer { server.stop() }
        let client = try connect(port, clientContext())
        defer { client.close() }
        try client.send([1])
        #expect(try client.receive(300_000) == pattern(300_000))
        #expect(client.awaitClose())
    }

    @Test func shutdownWakesBlockedReader() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext())
        defer { client.close() }
        let woke = DispatchSemaphore(value: 0)
        let thread = Thread {
            _ = client.waitUntilReadable(timeout: .seconds(10))
            woke.signal()
        }
        thread.start()
        usleep(50_000)
        client.shutdown()
        #expect(woke.wait(timeout: .now() + 3) == .success)
    }

    @Test func maxConnectionsEnforced() throws {
        let server = try TestServer(tls: serverContext()) { $0.maxConnections = 1 }
        defer { server.server.stop() }
        let first = try connect(server.port, clientContext())
        defer { first.close() }
        try first.send([1])
        #expect(try first.receive(1) == [1])
        #expect(throws: TLSError.self) { try connect(server.port, clientContext()) }
    }
}

@Suite struct CertificateScriptTests {
    @Test func idempotentWithPrivateKeys() throws {
        let certs = DevCerts.main
        let before = try String(contentsOfFile: certs.ca, encoding: .utf8)
        #expect(DevCerts.runScript([certs.dir]) == 0)
        #expect(try String(contentsOfFile: certs.ca, encoding: .utf8) == before)
        for key in [certs.dir + "/ca-key.pem", certs.serverKey, certs.clientKey] {
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }
}

@Suite struct BackpressureTests {
    /// Answers any input with a large response and records how much the socket did not take
    /// right away, which is what a server uses to stop reading requests.
    final class BigResponder: ConnectionHandler {
        static let size = 4 << 20
        static let payload = pattern(size)
        final class Recorder: Sendable { let values = Locked<[Int]>([]) }
        let recorder: Recorder
        init(recorder: Recorder) { self.recorder = recorder }
        func connectionDidBecomeActive(_ connection: TLSConnection) {}
        func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
            Self.payload.withUnsafeBytes { connection.write($0) }
            // Tasks run after the loop's flush, so this sees what is left waiting for EPOLLOUT.
            connection.eventLoop.execute { [recorder] in
                recorder.values.withLock { $0.append(connection.outboundBufferedBytes) }
            }
        }
        func connectionDidClose(_ connection: TLSConnection) {}
    }

    @Test func slowReaderGetsEverythingViaEPOLLOUT() throws {
        let recorder = BigResponder.Recorder()
        let server = TLSServer(configuration: TLSServerConfiguration(), tls: try serverContext()) { _ in
            BigResponder(recorder: recorder)
        }
        let port = try server.start()
        defer { server.stop() }
        let client = try connect(port, clientContext())
        defer { client.close() }
        try client.send([1])
        // Generous: under ThreadSanitizer with the whole suite in parallel this takes seconds.
        #expect(eventually(timeout: .seconds(60)) { !recorder.values.withLock { $0.isEmpty } })
        let pending = recorder.values.withLock { $0.first ?? 0 }
        #expect(pending > 0)
        #expect(try client.receive(BigResponder.size, timeout: .seconds(10)) == BigResponder.payload)
    }
}
