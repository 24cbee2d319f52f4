import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol

/// Client identities beyond the dev client (`CN=tensorwire-dev-client`), all signed by the dev CA.
enum AccessIdentities {
    static let risk = TestEnvironment.mintClientCertificate(
        name: "risk", commonName: "risk-engine", subjectAltNames: "DNS:Scoring.Internal,URI:spiffe://bank.example/credit/risk")
    static let fraud = TestEnvironment.mintClientCertificate(
        name: "fraud", commonName: "fraud-service", subjectAltNames: "DNS:fraud.internal")
}

/// Per-model access control seen from real clients over mutual TLS: who may call, list, describe
/// and count which model, by certificate and by auth-token name.
@Suite(.serialized) struct AccessControlTests {
    let input = try! WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0.1, count: 10))

    /// One credit-model copy per team, each with its policy.
    static let teamConfigs: [String: String] = [
        "credit_default": #"{"access": {"allow": ["cert:CN=risk-engine", "token:credit-batch"]}}"#,
        "fraud_model": #"{"access": {"allow": ["cert:SAN=dns:fraud.internal"]}}"#,
        "by_dns": #"{"access": {"allow": ["cert:SAN=dns:scoring.internal"]}}"#,
        "by_uri": #"{"access": {"allow": ["cert:SAN=uri:spiffe://bank.example/credit/risk"]}}"#,
        "shared_model": "{}",
    ]

    private func client(_ port: Int, identity: (chain: String, key: String)?, token: String = "") throws -> TensorWireClient {
        var configuration = TestEnvironment.clientConfiguration(port: port, clientCertificate: identity == nil)
        if let identity {
            configuration.certificateChainFile = identity.chain
            configuration.privateKeyFile = identity.key
        }
        configuration.authToken = token
        return try TensorWireClient(configuration: configuration)
    }

    private func anonymousClient(_ port: Int) throws -> TensorWireClient {
        try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: port, clientCertificate: false))
    }

    /// The call fails with PERMISSION_DENIED, naming the model but nothing of its policy.
    private func expectDenied(_ model: String, sourceLocation: SourceLocation = #_sourceLocation, _ call: () throws -> Void) {
        do {
            try call()
            Issue.record("call on \(model) was allowed", sourceLocation: sourceLocation)
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied, "\(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains("'\(model)'"), "\(error)", sourceLocation: sourceLocation)
            for secret in ["risk-engine", "fraud.internal", "scoring.internal", "spiffe", "credit-batch", "cert:", "token:"] {
                #expect(!error.message.contains(secret), "\(error)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func certificatesDecideWhoMayCallListDescribeAndCountEachModel() throws {
        let repository = try ModelRepositoryFixture(configs: Self.teamConfigs)
        let server = try ServerProcess(extraArguments: ["--client-auth", "optional"], models: repository.root)
        let risk = try client(server.port, identity: AccessIdentities.risk)
        let fraud = try client(server.port, identity: AccessIdentities.fraud)
        let dev = try client(server.port, identity: nil)
        let anonymous = try anonymousClient(server.port)

        // Allowed: by CN, by DNS SAN (case-insensitively), by URI SAN.
        for model in ["credit_default", "by_dns", "by_uri", "shared_model"] {
            #expect(try risk.infer(model: model, inputs: [input]).outputs.count == 1, "\(model)")
            #expect(try risk.modelMetadata(model: model).name == model)
            #expect(try risk.stats(model: model).first?.name == model)
            #expect(try risk.health(.modelReady, model: model))
        }
        #expect(try fraud.infer(model: "fraud_model", inputs: [input]).outputs.count == 1)

        // ListModels and Stats of every model show only what the caller may use.
        #expect(try risk.listModels().map(\.name) == ["by_dns", "by_uri", "credit_default", "shared_model"])
        #expect(try fraud.listModels().map(\.name) == ["fraud_model", "shared_model"])
        #expect(try dev.listModels().map(\.name) == ["shared_model"])
        #expect(try anonymous.listModels().map(\.name) == ["shared_model"])
        #expect(try risk.stats().map(\.name) == ["by_dns", "by_uri", "credit_default", "shared_model"])
        #expect(try fraud.stats().map(\.name) == ["fraud_model", "shared_model"])

        // Denied: Infer, ModelMetadata and Stats name the model and nothing else.
        for (caller, model) in [(fraud, "credit_default"), (dev, "credit_default"), (anonymous, "credit_default"),
                                (risk, "fraud_model"), (fraud, "by_dns"), (fraud, "by_uri")] {
            expectDenied(model) { _ = try caller.infer(model: model, inputs: [input]) }
            expectDenied(model) { _ = try caller.modelMetadata(model: model) }
            expectDenied(model) { _ = try caller.stats(model: model) }
            #expect(try caller.health(.modelReady, model: model) == false)
        }
        // Versions asked for explicitly are checked the same way.
        expectDenied("credit_default") { _ = try fraud.infer(model: "credit_default", version: 1, inputs: [input]) }
        // A model that does not exist is still NOT_FOUND.
        let missing = #expect(throws: RPCError.self) { _ = try fraud.infer(model: "no_such_model", inputs: [input]) }
        #expect(missing?.code == .notFound)

        // Server-wide methods stay open.
        #expect(try anonymous.health(.ready))
        #expect(try fraud.serverInfo().name == "tensorwire")

        // Every refusal is counted on the model (3 callers x 3 methods, + the versioned Infer),
        // beside the successes, which only the allowed see.
        let credit = try #require(try risk.stats(model: "credit_default").first)
        #expect(credit.outcomes[.permissionDenied] == 10)
        #expect(credit.outcomes[.ok] == 1)
        #expect(try fraud.stats(model: "fraud_model").first?.outcomes[.permissionDenied] == 3)
    }

    @Test func tokenNamesDecideAndBareTokensStillAuthenticate() throws {
        let tokens = NSTemporaryDirectory() + "wt-acl-tokens-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try "# desk tokens\ncredit-batch:tok-credit-5f1e\nfraud-stream : tok-fraud-77ab\nlegacy-bare-token-9c2d\n"
            .write(toFile: tokens, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        let repository = try ModelRepositoryFixture(configs: [
            "credit_default": Self.teamConfigs["credit_default"]!, "shared_model": "{}",
            "fraud_model": #"{"access": {"allow": ["token:fraud-stream", "token:no-such-token"]}}"#,
        ])
        let server = try ServerProcess(extraArguments: ["--auth-token-file", tokens], models: repository.root)

        let batch = try client(server.port, identity: nil, token: "tok-credit-5f1e")
        let stream = try client(server.port, identity: nil, token: "tok-fraud-77ab")
        let legacy = try client(server.port, identity: nil, token: "legacy-bare-token-9c2d")
        #expect(try batch.infer(model: "credit_default", inputs: [input]).outputs.count == 1)
        #expect(try stream.infer(model: "fraud_model", inputs: [input]).outputs.count == 1)
        #expect(try legacy.infer(model: "shared_model", inputs: [input]).outputs.count == 1)
        #expect(try batch.listModels().map(\.name) == ["credit_default", "shared_model"])
        #expect(try stream.listModels().map(\.name) == ["fraud_model", "shared_model"])
        #expect(try legacy.listModels().map(\.name) == ["shared_model"])
        expectDenied("credit_default") { _ = try stream.infer(model: "credit_default", inputs: [input]) }
        expectDenied("credit_default") { _ = try legacy.modelMetadata(model: "credit_default") }
        expectDenied("fraud_model") { _ = try batch.stats(model: "fraud_model") }

        // A certificate and a token combine: the risk certificate with the fraud token may use both.
        let both = try client(server.port, identity: AccessIdentities.risk, token: "tok-fraud-77ab")
        #expect(try both.listModels().map(\.name) == ["credit_default", "fraud_model", "shared_model"])

        for wrong in ["", "tok-credit-5f1", "credit-batch", "credit-batch:tok-credit-5f1e"] {
            let error = #expect(throws: RPCError.self) { _ = try client(server.port, identity: nil, token: wrong) }
            #expect(error?.code == .unauthenticated, "\(wrong)")
        }
        let log = server.errorLog
        #expect(log.contains("no-such-token"), "a policy naming an unknown token is warned about: \(log)")
        for secret in ["tok-credit-5f1e", "tok-fraud-77ab", "legacy-bare-token-9c2d"] {
            #expect(!log.contains(secret) && !server.startupOutput.contains(secret))
        }
    }

    @Test func malformedPoliciesAreRefusedAtLoad() throws {
        let oversized = (0...256).map { "\"token:t\($0)\"" }.joined(separator: ",")
        let repository = try ModelRepositoryFixture(configs: [
            "good": #"{"access": {"allow": ["cert:CN=risk-engine"]}}"#,
            "unknown_prefix": #"{"access": {"allow": ["cert:CN=risk-engine", "group:credit"]}}"#,
            "empty_string": #"{"access": {"allow": ["cert:CN=risk-engine", ""]}}"#,
            "not_a_list": #"{"access": {"allow": "cert:CN=risk-engine"}}"#,
            "misspelt_key": #"{"access": {"allowed": ["cert:CN=risk-engine"]}}"#,
            "oversized": #"{"access": {"allow": ["cert:CN=risk-engine", \#(oversized)]}}"#,
            "wildcard": #"{"access": {"allow": ["cert:SAN=dns:*.internal"]}}"#,
        ])
        let server = try ServerProcess(models: repository.root)
        let broken = ["empty_string", "misspelt_key", "not_a_list", "oversized", "unknown_prefix", "wildcard"]
        for model in broken {
            #expect(server.startupOutput.contains("model \(model) versions [] NOT READY"), "\(server.startupOutput)")
        }
        #expect(server.startupOutput.contains("model good versions [1] READY"))
        let log = server.errorLog
        for reason in ["unknown_prefix' not served", "access.allow[1] has an unknown form", "access.allow[1] is empty",
                       "access.allow must be a list", "unknown access setting(s) allowed", "at most 256",
                       "wildcards are not patterns"] {
            #expect(log.contains(reason), "\(reason) in \(log)")
        }
        // Nobody can call a model whose policy could not be read, not even those it seems to name.
        let risk = try client(server.port, identity: AccessIdentities.risk)
        #expect(try risk.listModels().map(\.name) == ["good"])
        for model in broken { expectDenied(model) { _ = try risk.infer(model: model, inputs: [input]) } }
        #expect(try risk.infer(model: "good", inputs: [input]).outputs.count == 1)
    }

    @Test func defaultDenyClosesModelsWithoutAPolicy() throws {
        let repository = try ModelRepositoryFixture(configs: Self.teamConfigs)
        let server = try ServerProcess(extraArguments: ["--default-deny"], models: repository.root)
        let risk = try client(server.port, identity: AccessIdentities.risk)
        let dev = try client(server.port, identity: nil)
        #expect(try risk.listModels().map(\.name) == ["by_dns", "by_uri", "credit_default"])
        #expect(try dev.listModels().isEmpty)
        #expect(try dev.stats().isEmpty)
        expectDenied("shared_model") { _ = try risk.infer(model: "shared_model", inputs: [input]) }
        expectDenied("shared_model") { _ = try dev.modelMetadata(model: "shared_model") }
        #expect(try risk.infer(model: "credit_default", inputs: [input]).outputs.count == 1)
        #expect(try dev.health(.live))
    }

    /// Refusals are answered on their own streams at once, while the allowed requests queued
    /// before them on the same connection wait for their batch and come back right.
    @Test func aDeniedRequestDoesNotDisturbOthersInFlightOnTheSameConnection() async throws {
        let repository = try ModelRepositoryFixture(configs: [
            // A 2 s batching window: the denials must come back inside it even when a loaded
            // parallel test run keeps this async test off the cooperative threads for a while.
            "credit_default": #"{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_us": 2000000}, "access": {"allow": ["cert:CN=risk-engine"]}}"#,
            "fraud_model": #"{"access": {"allow": ["cert:CN=fraud-service"]}}"#,
        ])
        let server = try ServerProcess(models: repository.root)
        let risk = try client(server.port, identity: AccessIdentities.risk)
        let rows: [[Float]] = (0..<4).map { row in (0..<10).map { Float(row) * 0.7 + Float($0) * 0.2 } }
        let expected = try rows.map { try risk.infer(model: "credit_default", inputs: [WireTensor(name: "features", shape: [1, 10], floats: $0)]) }
            .map { $0["probabilities"]!.floats! }

        let clock = ContinuousClock()
        let start = clock.now
        let allowed = Task {
            try await withThrowingTaskGroup(of: (Int, [Float], Duration).self) { group in
                for (index, row) in rows.enumerated() {
                    group.addTask {
                        let result = try await risk.infer(model: "credit_default", inputs: [WireTensor(name: "features", shape: [1, 10], floats: row)])
                        return (index, result["probabilities"]!.floats!, clock.now - start)
                    }
                }
                return try await group.reduce(into: [(Int, [Float], Duration)]()) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(50))  // the allowed requests are in the batching queue
        let denials = await withTaskGroup(of: (StatusCode, Duration).self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do {
                        _ = try await risk.infer(model: "fraud_model", inputs: [self.input])
                        return (.ok, clock.now - start)
                    } catch {
                        return ((error as? RPCError)?.code ?? .unknown, clock.now - start)
                    }
                }
            }
            return await group.reduce(into: [(StatusCode, Duration)]()) { $0.append($1) }
        }
        let answers = try await allowed.value
        #expect(denials.allSatisfy { $0.0 == .permissionDenied })
        #expect(answers.count == rows.count)
        for (index, outputs, _) in answers { expectClose(outputs, expected[index]) }
        // The refusals did not wait for the queued batch, and did not cut its wait short.
        let lastDenial = denials.map(\.1).max()!, firstAnswer = answers.map(\.2).min()!
        #expect(lastDenial < firstAnswer, "denials by \(lastDenial), first allowed answer at \(firstAnswer)")
        #expect(firstAnswer >= .milliseconds(1500))
        #expect(try await risk.infer(model: "credit_default", inputs: [input]).outputs.count == 1)
    }

    /// A refused step of a stateful model never claims or creates the sequence it names.
    @Test func aDeniedSequenceStepLeavesNoState() throws {
        let repository = try ModelRepositoryFixture(configs: [
            "ticker_lstm": """
                {"max_batch_size": 16, "sequence_batching": {"state": [{"input": "h0", "output": "h"}, {"input": "c0", "output": "c"}]},
                 "access": {"allow": ["cert:CN=risk-engine"]}}
                """,
        ], modelFile: SequenceBatchingTests.modelFile)
        let server = try ServerProcess(models: repository.root)
        let risk = try client(server.port, identity: AccessIdentities.risk)
        let fraud = try client(server.port, identity: AccessIdentities.fraud)
        let tick = try WireTensor(name: "x", shape: [1, 1, 6], floats: Array(repeating: 0.5, count: 6))
        expectDenied("ticker_lstm") {
            _ = try fraud.infer(model: "ticker_lstm", inputs: [tick], metadata: ["sequence-id": "42", "sequence-start": "true"])
        }
        let notOpen = #expect(throws: RPCError.self) {
            _ = try risk.infer(model: "ticker_lstm", inputs: [tick], metadata: ["sequence-id": "42"])
        }
        #expect(notOpen?.code == .failedPrecondition)
        #expect(try risk.infer(model: "ticker_lstm", inputs: [tick], metadata: ["sequence-id": "42", "sequence-start": "true"]).outputs.count == 1)
    }
}
