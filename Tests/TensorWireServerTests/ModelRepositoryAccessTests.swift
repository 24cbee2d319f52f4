import Foundation
import InferenceEngine
import Testing
import TensorWireProtocol
import TensorWireTransport
@testable import TensorWireServer

/// What the repository decides at load about who may call each model, including models whose
/// config fails: a policy that cannot be read closes the model to everyone.
@Suite(.serialized) struct ModelRepositoryAccessTests {
    static let modelFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/models/credit_default/1/model.onnx").path

    /// A repository with one credit-model copy per (name, config.json text).
    /// The directory is removed once loaded: the repository reads everything at start.
    private func repository(_ models: [String: String], defaultDeny: Bool = false) throws -> (ModelRepository, ComputePool) {
        let root = NSTemporaryDirectory() + "wt-acl-repo-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        for (name, config) in models {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)/1", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.modelFile, toPath: "\(root)/\(name)/1/model.onnx")
            try config.write(toFile: "\(root)/\(name)/config.json", atomically: true, encoding: .utf8)
        }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pool = ComputePool(threadCount: 1)
        return (try ModelRepository(root: root, pool: pool, defaultDeny: defaultDeny), pool)
    }

    let risk = CallerIdentity(certificate: PeerCertificateIdentity(commonName: "risk-engine"), tokenName: nil)
    let fraud = CallerIdentity(certificate: PeerCertificateIdentity(commonName: "fraud-service"), tokenName: nil)

    @Test func policiesDefaultsAndFailuresDecideAccess() throws {
        let (repository, pool) = try repository([
            "open": "{}",
            "restricted": #"{"access": {"allow": ["cert:CN=risk-engine"]}}"#,
            "closed": #"{"access": {"allow": []}}"#,
            "bad_policy": #"{"access": {"allow": ["cert:CN=risk-engine", "group:credit"]}}"#,
            "bad_other_key": #"{"access": {"allow": ["cert:CN=risk-engine"]}, "max_batch_size": "big"}"#,
            "not_json": #"{"access": {"allow": ["cert:CN=risk-engine"]},"#,
        ])
        defer { pool.shutdown() }
        let entries = repository.entries
        #expect(entries["open"]?.access == .anyAuthenticatedCaller)
        #expect(entries["restricted"]?.access == .allowList([.commonName("risk-engine")]))
        #expect(entries["closed"]?.access == .nobody)
        #expect(entries["bad_policy"]?.access == .nobody)
        #expect(entries["bad_policy"]?.isReady == false)
        #expect(entries["bad_policy"]?.failures.first?.contains("access.allow[1]") == true)
        #expect(entries["bad_other_key"]?.access == .allowList([.commonName("risk-engine")]))
        #expect(entries["bad_other_key"]?.isReady == false)
        #expect(entries["not_json"]?.access == .nobody)

        #expect(repository.entries(visibleTo: risk).map(\.name) == ["bad_other_key", "open", "restricted"])
        #expect(repository.entries(visibleTo: fraud).map(\.name) == ["open"])

        #expect(try repository.resolve(name: "restricted", version: 0, for: risk).name == "restricted")
        let denied = #expect(throws: Status.self) { try repository.resolve(name: "restricted", version: 0, for: fraud) }
        #expect(denied?.code == .permissionDenied)
        #expect(denied?.message.contains("'restricted'") == true)
        #expect(denied?.message.contains("risk-engine") == false)
        #expect(entries["restricted"]?.latest?.statistics.outcomes[.permissionDenied] == 1)
        // The allowed caller learns why a model is not ready; the others learn nothing more
        // than that they may not use it.
        let unready = #expect(throws: Status.self) { try repository.resolve(name: "bad_other_key", version: 0, for: risk) }
        #expect(unready?.code == .unavailable)
        #expect(unready?.message.contains("max_batch_size") == true)
        let hidden = #expect(throws: Status.self) { try repository.resolve(name: "bad_other_key", version: 0, for: fraud) }
        #expect(hidden?.code == .permissionDenied)
        #expect(hidden?.message.contains("max_batch_size") == false)
        let missing = #expect(throws: Status.self) { try repository.resolve(name: "nope", version: 0, for: risk) }
        #expect(missing?.code == .notFound)
    }

    @Test func defaultDenyClosesModelsWithoutAPolicy() throws {
        let (repository, pool) = try repository([
            "open": "{}", "restricted": #"{"access": {"allow": ["cert:CN=risk-engine"]}}"#,
        ], defaultDeny: true)
        defer { pool.shutdown() }
        #expect(repository.entries["open"]?.access == .nobody)
        #expect(repository.entries(visibleTo: risk).map(\.name) == ["restricted"])
        #expect(repository.entries(visibleTo: .anonymous).isEmpty)
    }
}
