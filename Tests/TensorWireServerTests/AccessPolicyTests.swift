import Foundation
import Testing
import TensorWireTransport
@testable import TensorWireServer

/// The `access` section's parser: every malformed shape is refused with a message that gives
/// the entry's position but never its text, and valid entries mean what the docs say.
@Suite struct AccessPolicyTests {
    private func parse(_ json: String) throws(ModelRepositoryError) -> AccessPolicy {
        let object = try! JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        return try AccessPolicy(section: object, context: "config.json")
    }

    private func refusal(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            let policy = try parse(json)
            Issue.record("accepted \(json) as \(policy)", sourceLocation: sourceLocation)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func theFourFormsParseToTheirPrincipals() throws {
        let policy = try parse(#"{"allow": ["cert:CN=risk-engine", "cert:SAN=dns:Scoring.Internal", "cert:SAN=uri:spiffe://bank.example/credit", "token:credit-batch"]}"#)
        #expect(policy == .allowList([
            .commonName("risk-engine"), .dnsName("scoring.internal"), .uri("spiffe://bank.example/credit"), .token(named: "credit-batch"),
        ]))
    }

    @Test func anEmptyListAllowsNobody() throws {
        let policy = try parse(#"{"allow": []}"#)
        #expect(policy == .nobody)
        #expect(!policy.permits(CallerIdentity(principals: [.commonName("anyone"), .token(named: "t")])))
        #expect(!policy.permits(.anonymous))
    }

    @Test(arguments: [
        #""cert:CN=a""#, "1", "null", "true", #"["cert:CN=a"]"#, "{}", #"{"allow": "cert:CN=a"}"#,
        #"{"allow": {"cert:CN=a": true}}"#, #"{"allow": null}"#, #"{"allow": [1]}"#, #"{"allow": [null]}"#,
        #"{"allow": [true]}"#, #"{"allow": [["cert:CN=a"]]}"#, #"{"allow": [{"cert": "CN=a"}]}"#,
        #"{"deny": ["cert:CN=a"]}"#, #"{"allow": ["cert:CN=a"], "deny": []}"#,
    ])
    func garbageShapesAreRefused(json: String) {
        #expect(!refusal(json).isEmpty)
    }

    @Test(arguments: [
        "", "cert:CN=", "token:", "cert:SAN=dns:", "cert:SAN=uri:", " ", "cert:", "token",
    ])
    func emptyEntriesAreRefused(entry: String) {
        #expect(refusal(#"{"allow": ["token:fine", "\#(entry)"]}"#).contains("access.allow[1]"))
    }

    @Test(arguments: [
        "user:alice", "cert:OU=credit", "cert:O=bank", "cert:SAN=ip:10.0.0.1", "cert:SAN=email:a@bank.example",
        "CERT:CN=x", "cert:cn=x", "cert:CN =x", "cert:SAN=DNS:x.internal", "cert:SAN=dns=x.internal", "Token:x",
        "tokens:x", "*", "any", "cert:SAN:dns:x",
    ])
    func unknownFormsAreRefused(entry: String) {
        let message = refusal(#"{"allow": ["\#(entry)"]}"#)
        #expect(message.contains("access.allow[0]"))
        #expect(message.contains("unknown form") || message.contains("is not"))
    }

    @Test(arguments: [
        ("cert:SAN=dns:*.internal", "wildcards"), ("cert:SAN=dns:a b", "DNS name"), ("cert:SAN=dns:a/b", "DNS name"),
        ("cert:SAN=uri:no-scheme", "URI"), ("cert:SAN=uri::x", "URI"), ("cert:SAN=uri:a:b c", "URI"), ("cert:SAN=uri:1x:y", "URI"),
        ("token:has space", "token name"), ("token:a/b", "token name"), ("token:" + String(repeating: "t", count: 65), "token name"),
        (" cert:CN=a", "spaces"), ("cert:CN=a ", "spaces"), ("cert:CN=a\\u0000b", "control"), ("cert:CN=a\\nb", "control"),
        ("cert:CN=a\\u007Fb", "control"), ("cert:CN=" + String(repeating: "x", count: 600), "longer than 512"),
    ])
    func malformedValuesAreRefusedWithTheReason(entry: String, reason: String) {
        let message = refusal(#"{"allow": ["\#(entry)"]}"#)
        #expect(message.contains(reason), "\(message)")
    }

    @Test func oversizedListsAreRefused() throws {
        let entries = (0..<AccessPolicy.maxEntries).map { "\"token:t\($0)\"" }
        let full = try parse(#"{"allow": [\#(entries.joined(separator: ","))]}"#)
        #expect(full.listedPrincipals.count == AccessPolicy.maxEntries)
        let over = entries + ["\"token:one-more\""]
        #expect(refusal(#"{"allow": [\#(over.joined(separator: ","))]}"#).contains("at most \(AccessPolicy.maxEntries)"))
    }

    @Test func duplicatesAreRefusedIncludingDNSNamesDifferingOnlyInCase() {
        #expect(refusal(#"{"allow": ["token:a", "token:a"]}"#).contains("access.allow[1] repeats"))
        #expect(refusal(#"{"allow": ["cert:SAN=dns:A.internal", "cert:SAN=dns:a.internal"]}"#).contains("access.allow[1] repeats"))
    }

    /// Refusal messages may reach callers (as a model's not-ready reason), so they never quote
    /// an entry: a mistyped entry could be a secret pasted into the wrong place.
    @Test func messagesDoNotQuoteEntries() {
        for entry in ["token:s3cret value", "s3cret", "cert:SAN=uri:s3cret", "cert:SAN=dns:s3cret!"] {
            let message = refusal(#"{"allow": ["\#(entry)"]}"#)
            #expect(!message.isEmpty && !message.contains("s3cret"), "\(message)")
        }
    }

    @Test func matchingIsExactExceptForDNSCase() throws {
        let policy = try parse(#"{"allow": ["cert:CN=risk-engine", "cert:SAN=dns:scoring.internal", "cert:SAN=uri:spiffe://bank/Credit", "token:credit-batch"]}"#)
        func caller(_ certificate: PeerCertificateIdentity?, token: String? = nil) -> CallerIdentity {
            CallerIdentity(certificate: certificate, tokenName: token)
        }
        #expect(policy.permits(caller(PeerCertificateIdentity(commonName: "risk-engine"))))
        #expect(!policy.permits(caller(PeerCertificateIdentity(commonName: "Risk-Engine"))))
        #expect(!policy.permits(caller(PeerCertificateIdentity(commonName: "risk-engine2"))))
        #expect(policy.permits(caller(PeerCertificateIdentity(commonName: "fraud", dnsNames: ["x", "SCORING.internal"]))))
        #expect(policy.permits(caller(PeerCertificateIdentity(uris: ["spiffe://bank/Credit"]))))
        #expect(!policy.permits(caller(PeerCertificateIdentity(uris: ["spiffe://bank/credit"]))))
        #expect(policy.permits(caller(nil, token: "credit-batch")))
        #expect(!policy.permits(caller(nil, token: "fraud-stream")))
        // A certificate name never stands in for a token name or the other way round.
        #expect(!policy.permits(caller(PeerCertificateIdentity(commonName: "credit-batch"))))
        #expect(!policy.permits(caller(PeerCertificateIdentity(commonName: "scoring.internal"))))
        #expect(!policy.permits(caller(nil, token: "risk-engine")))
        #expect(!policy.permits(.anonymous))
        #expect(AccessPolicy.anyAuthenticatedCaller.permits(.anonymous))
    }

    @Test func modelConfigAcceptsTheSectionAndStillRefusesUnknownKeys() throws {
        let config = try ModelConfig(object: ["access": ["allow": ["token:a"]], "description": "x"], path: "c.json")
        #expect(config.access == .allowList([.token(named: "a")]))
        #expect(try ModelConfig(object: [:], path: "c.json").access == nil)
        #expect(throws: ModelRepositoryError.self) { try ModelConfig(object: ["acess": ["allow": []]], path: "c.json") }
        #expect(throws: ModelRepositoryError.self) { try ModelConfig(object: ["access": ["allow": ["nobody"]]], path: "c.json") }
    }
}
