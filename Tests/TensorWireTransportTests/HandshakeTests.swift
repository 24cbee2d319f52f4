import Foundation
import Testing
@testable import TensorWireTransport

/// Whether a client got through to a working session: connect, write, read the echo.
private func sessionWorks(port: Int, context: TLSContext, serverName: String? = "localhost") -> Bool {
    guard let client = try? connect(port, context, serverName: serverName) else { return false }
    defer { client.close() }
    // With TLS 1.3 the client finishes before the server has checked its certificate, so a
    // rejection may only show up on the first read.
    guard (try? client.send([7, 7, 7])) != nil else { return false }
    return (try? client.receive(3, timeout: .seconds(3))) == [7, 7, 7]
}

@Suite struct HandshakeTests {
    @Test func mutualTLSAcceptedAndSubjectReported() throws {
        let server = try TestServer(tls: serverContext(trust: .main, clientAuth: .required))
        defer { server.server.stop() }
        #expect(sessionWorks(port: server.port, context: try clientContext(identity: .main)))
        #expect(server.events.subjects.withLock { $0 } == ["CN=tensorwire-dev-client"])
    }

    @Test func optionalClientAuthAcceptsAnonymous() throws {
        let server = try TestServer(tls: serverContext(trust: .main, clientAuth: .optional))
        defer { server.server.stop() }
        #expect(sessionWorks(port: server.port, context: try clientContext()))
        #expect(server.events.subjects.withLock { $0 } == [nil])
        #expect(server.events.identities.withLock { $0 } == [nil])
    }

    /// The names access policies match on: the CN and every DNS and URI SAN, as issued.
    @Test func verifiedClientCertificateNamesAreReported() throws {
        #expect(DevCerts.runScript(["--client", "scoring", "--cn", "risk-engine",
                                    "--san", "DNS:Scoring.Internal,DNS:b.internal,URI:spiffe://bank.example/credit/risk,email:a@b.example",
                                    DevCerts.main.dir]) == 0)
        let server = try TestServer(tls: serverContext(trust: .main, clientAuth: .optional))
        defer { server.server.stop() }
        var configuration = TLSConfiguration.client(
            trustRootsFile: DevCerts.main.ca, certificateChainFile: DevCerts.main.dir + "/scoring.pem",
            privateKeyFile: DevCerts.main.dir + "/scoring-key.pem")
        configuration.maximumVersion = .tls13
        #expect(sessionWorks(port: server.port, context: try TLSContext(configuration: configuration)))
        #expect(server.events.identities.withLock { $0 } == [PeerCertificateIdentity(
            commonName: "risk-engine", dnsNames: ["Scoring.Internal", "b.internal"], uris: ["spiffe://bank.example/credit/risk"])])
    }

    /// Names that are not clean UTF-8 are dropped, not repaired into something else.
    @Test func identityLinesThatAreNotUTF8AreDropped() {
        let lines: [UInt8] = Array("CN=a\nDNS:x.internal\nURI:".utf8) + [0xFF, 0xFE] + Array("\nDNS:y.internal\n".utf8)
        let identity = lines.withUnsafeBufferPointer { PeerCertificateIdentity(shimLines: $0) }
        #expect(identity == PeerCertificateIdentity(commonName: "a", dnsNames: ["x.internal", "y.internal"]))
    }

    @Test func clientTrustingWrongCARejected() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        #expect(throws: TLSError.self) { try connect(server.port, clientContext(trust: .other)) }
        #expect(server.events.active.load(ordering: .relaxed) == 0)
        #expect(sessionWorks(port: server.port, context: try clientContext()))
    }

    @Test func requiredClientCertificateMissingRejected() throws {
        let server = try TestServer(tls: serverContext(trust: .main, clientAuth: .required))
        defer { server.server.stop() }
        #expect(!sessionWorks(port: server.port, context: try clientContext()))
        #expect(server.events.active.load(ordering: .relaxed) == 0)
    }

    @Test func clientCertificateFromOtherCARejected() throws {
        let server = try TestServer(tls: serverContext(trust: .other, clientAuth: .required))
        defer { server.server.stop() }
        #expect(!sessionWorks(port: server.port, context: try clientContext(identity: .main)))
        #expect(server.events.active.load(ordering: .relaxed) == 0)
    }

    @Test func hostNameMismatchRejected() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let error = #expect(throws: TLSError.self) { try connect(server.port, clientContext(), serverName: "example.com") }
        #expect(error?.message.contains("hostname mismatch") == true)
        // The certificate's IP SAN makes the literal address valid.
        #expect(sessionWorks(port: server.port, context: try clientContext(), serverName: "127.0.0.1"))
    }

    @Test func plaintextGarbageClosedAndServerKeepsServing() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let good = try connect(server.port, clientContext())
        defer { good.close() }
        let fd = plainTCPConnect(server.port)
        defer { close(fd) }
        let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + pattern(3000)
        _ = send(fd, garbage, garbage.count, Int32(MSG_NOSIGNAL))
        #expect(plainReadUntilClosed(fd))
        try good.send([1, 2, 3])
        #expect(try good.receive(3) == [1, 2, 3])
        #expect(sessionWorks(port: server.port, context: try clientContext()))
    }

    @Test func silentPeerDroppedAfterHandshakeTimeout() throws {
        let server = try TestServer(tls: serverContext()) { $0.handshakeTimeout = .milliseconds(200) }
        defer { server.server.stop() }
        let fd = plainTCPConnect(server.port)
        defer { close(fd) }
        let start = ContinuousClock.now
        #expect(plainReadUntilClosed(fd))
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(eventually { server.server.connectionCount == 0 })
    }

    @Test func tls12WorksWhenBothAllowIt() throws {
        let server = try TestServer(tls: serverContext(minimum: .tls12))
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext(minimum: .tls12, maximum: .tls12))
        defer { client.close() }
        #expect(client.negotiatedProtocolVersion == "TLSv1.2")
        try client.send([9, 8, 7])
        #expect(try client.receive(3) == [9, 8, 7])
    }

    @Test func tls12ClientRejectedByTLS13Server() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        #expect(throws: TLSError.self) { try connect(server.port, clientContext(minimum: .tls12, maximum: .tls12)) }
    }

    @Test func badFilesGiveClearErrors() throws {
        let missing = DevCerts.root + "/does-not-exist.pem"
        let error = #expect(throws: TLSError.self) {
            try TLSContext(configuration: .server(certificateChainFile: missing, privateKeyFile: DevCerts.main.serverKey))
        }
        #expect(error?.message.contains(missing) == true)
        // Key that does not belong to the certificate.
        #expect(throws: TLSError.self) {
            try TLSContext(configuration: .server(certificateChainFile: DevCerts.main.serverCert, privateKeyFile: DevCerts.other.serverKey))
        }
        #expect(throws: TLSError.self) {
            try TLSContext(configuration: .server(certificateChainFile: DevCerts.main.serverCert, privateKeyFile: DevCerts.main.serverKey, clientAuthentication: .required))
        }
    }
}
