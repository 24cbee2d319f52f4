import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol

/// Paths and shared fixtures for tests that run real server and CLI processes.
enum TestEnvironment {
    /// The repository checkout (this file is Tests/IntegrationTests/TestEnvironment.swift).
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory holding the built executables (next to the test bundle).
    static let binaryDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    static func binary(_ name: String) -> String { binaryDirectory + "/" + name }

    /// A dev PKI made once per test process by the project's own certificate script.
    static let certificates: String = makeCertificates(named: "pki")

    /// A second, unrelated CA: its certificates must be refused by servers trusting the first.
    static let otherCertificates: String = makeCertificates(named: "other-pki")

    private static func makeCertificates(named name: String) -> String {
        let directory = NSTemporaryDirectory() + "tensorwire-tests-\(getpid())/\(name)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot + "/certs/make-dev-certs.sh", directory]
        process.standardOutput = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "make-dev-certs.sh failed")
        return directory
    }

    /// Issues another client certificate from the dev CA with the project's script
    /// (`make-dev-certs.sh --client`); returns the certificate and key paths. Call it from a
    /// `static let` so that each identity is minted once per test process.
    static func mintClientCertificate(name: String, commonName: String, subjectAltNames: String? = nil) -> (chain: String, key: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot + "/certs/make-dev-certs.sh", "--client", name, "--cn", commonName]
            + (subjectAltNames.map { ["--san", $0] } ?? []) + [certificates]
        process.standardOutput = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "make-dev-certs.sh --client \(name) failed")
        return (certificates + "/\(name).pem", certificates + "/\(name)-key.pem")
    }

    /// Runs one of the built executables to completion, as a user would from a shell.
    static func runTool(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        try runProgram(binary(name), arguments)
    }

    /// Runs the executable at `path` to completion and collects its output.
    static func runProgram(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    static func clientConfiguration(port: Int, certificates: String = certificates, clientCertificate: Bool = true) -> ClientConfiguration {
        ClientConfiguration(
            port: port,
            trustRootsFile: certificates + "/ca.pem",
            certificateChainFile: clientCertificate ? certificates + "/client.pem" : nil,
            privateKeyFile: clientCertificate ? certificates + "/client-key.pem" : nil,
            defaultTimeout: .seconds(20))
    }
}

/// The credit model's onnxruntime fixtures (Tests/Fixtures/credit_default.json).
struct CreditFixture {
    struct Case {
        var inputShape: [Int]
        var input: [Float]
        var outputShape: [Int]
        var output: [Float]
    }
    var cases: [Case]

    static let shared: CreditFixture = {
        let path = TestEnvironment.repositoryRoot + "/Tests/Fixtures/credit_default.json"
        let data = FileManager.default.contents(atPath: path)!
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = (root["cases"] as! [[String: Any]]).map { entry -> Case in
            let input = (entry["inputs"] as! [String: Any])["features"] as! [String: Any]
            let output = (entry["outputs"] as! [String: Any])["probabilities"] as! [String: Any]
            return Case(
                inputShape: input["shape"] as! [Int], input: (input["data"] as! [NSNumber]).map(\.floatValue),
                outputShape: output["shape"] as! [Int], output: (output["data"] as! [NSNumber]).map(\.floatValue))
        }
        return CreditFixture(cases: cases)
    }()

    /// The largest case: many rows whose outputs onnxruntime computed.
    var largest: Case { cases.max { $0.inputShape[0] < $1.inputShape[0] }! }
}

/// Relative tolerance for float32 outputs against onnxruntime (different summation order).
func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-4, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (a, e) in zip(actual, expected) where abs(a - e) > tolerance * max(1, abs(e)) {
        Issue.record("got \(a), expected \(e)", sourceLocation: sourceLocation)
        return
    }
}
