import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol

/// TLS identity checks and access control, as a user's program experiences them.
@Suite(.serialized) struct SecurityTests {
    let input = try! WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0.1, count: 10))

    @Test func requiredClientCertificateIsEnforced() throws {
        let server = try ServerProcess(extraArguments: ["--client-auth", "required"])
        let withCertificate = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: server.port))
        #expect(try withCertificate.infer(model: "credit_default", inputs: [input]).outputs.count == 1)

        let anonymous = TestEnvironment.clientConfiguration(port: server.port, clientCertificate: false)
        let error = #expect(throws: RPCError.self) {
            let client = try TensorWireClient(configuration: anonymous)
            _ = try client.infer(model: "credit_default", inputs: [input])
        }
        #expect(error?.code == .unavailable)
        // A refused handshake costs the server nothing: the good client still works.
        #expect(try withCertificate.infer(model: "credit_default", inputs: [input]).outputs.count == 1)
    }

    @Test func clientCertificateFromAnotherCAIsRefused() throws {
        let server = try ServerProcess(extraArguments: ["--client-auth", "required"])
        var configuration = TestEnvironment.clientConfiguration(port: server.port)
        configuration.certificateChainFile = TestEnvironment.otherCertificates + "/client.pem"
        configuration.privateKeyFile = TestEnvironment.otherCertificates + "/client-key.pem"
        #expect(throws: RPCError.self) {
            let client = try TensorWireClient(configuration: configuration)
            _ = try client.infer(model: "credit_default", inputs: [input])
        }
    }

    @Test func clientRefusesAServerItDoesNotTrust() throws {
        let server = try ServerProcess()
        let configuration = TestEnvironment.clientConfiguration(port: server.port, certificates: TestEnvironment.otherCertificates)
        let error = #expect(throws: RPCError.self) { _ = try TensorWireClient(configuration: configuration) }
        #expect(error?.code == .unavailable)
    }

    @Test func clientChecksTheServerName() throws {
        let server = try ServerProcess()
        var configuration = TestEnvironment.clientConfiguration(port: server.port)
        configuration.serverName = "bank.example.com"
        #expect(throws: RPCError.self) { _ = try TensorWireClient(configuration: configuration) }
        configuration.serverName = "localhost"
        #expect(try TensorWireClient(configuration: configuration).health(.live))
    }

    @Test func authTokenIsRequiredWhenConfigured() throws {
        let tokens = NSTemporaryDirectory() + "tensorwire-tokens-\(getpid())"
        try "# desk tokens\ns3cret-token\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        let server = try ServerProcess(extraArguments: ["--auth-token-file", tokens])

        var configuration = TestEnvironment.clientConfiguration(port: server.port)
        let missing = #expect(throws: RPCError.self) { _ = try TensorWireClient(configuration: configuration) }
        #expect(missing?.code == .unauthenticated)
        configuration.authToken = "wrong"
        let wrong = #expect(throws: RPCError.self) { _ = try TensorWireClient(configuration: configuration) }
        #expect(wrong?.code == .unauthenticated)
        configuration.authToken = "s3cret-token"
        #expect(try TensorWireClient(configuration: configuration).infer(model: "credit_default", inputs: [input]).outputs.count == 1)
    }

    @Test func tls12CanBeEnabledForOldClients() throws {
        let server = try ServerProcess(extraArguments: ["--tls-min", "1.2"])
        var configuration = TestEnvironment.clientConfiguration(port: server.port)
        configuration.minimumTLSVersion = .tls12
        #expect(try TensorWireClient(configuration: configuration).health(.live))
    }
}
