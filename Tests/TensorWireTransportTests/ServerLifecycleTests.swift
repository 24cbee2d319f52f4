import Foundation
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
