import Foundation
import Testing

/// The `tensorwire` CLI as a user runs it: a separate process, exit codes, printed results.
@Suite(.serialized) struct CLITests {
    let server: ServerProcess

    init() throws { server = try ServerProcess() }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let certificates = TestEnvironment.certificates
        return try TestEnvironment.runTool("tensorwire", arguments + [
            "--port", String(server.port), "--ca", certificates + "/ca.pem",
            "--cert", certificates + "/client.pem", "--key", certificates + "/client-key.pem",
        ])
    }

    @Test func inferPrintsTheModelsPrediction() throws {
        let fixture = CreditFixture.shared.cases.first { $0.inputShape[0] == 1 }!
        let row = "[[" + fixture.input.map { "\($0)" }.joined(separator: ",") + "]]"
        let result = try run(["infer", "credit_default", "--input", "features=\(row)", "--json"])
        #expect(result.status == 0, "stderr: \(result.error)")
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
        let probabilities = json["probabilities"] as! [String: Any]
        #expect(probabilities["shape"] as? [Int] == [1, 2])
        let values = (probabilities["data"] as! [[NSNumber]])[0].map(\.floatValue)
        expectClose(values, fixture.output)
    }

    @Test func inferReadsNpyAndWritesNpy() throws {
        let fixture = CreditFixture.shared.largest
        let directory = NSTemporaryDirectory() + "tensorwire-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let inputPath = directory + "/features.npy"
        // A hand-built .npy, exactly as numpy.save writes float32 C-order arrays.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(fixture.inputShape[0]), \(fixture.inputShape[1])), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
        for value in fixture.input { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: inputPath))

        let result = try run(["infer", "credit_default", "--input", "features=@\(inputPath)", "--output-dir", directory])
        #expect(result.status == 0, "stderr: \(result.error)")
        #expect(result.output.contains("probabilities"))
        let written = try Data(contentsOf: URL(fileURLWithPath: directory + "/probabilities.npy"))
        let headerLength = Int(written[8]) | Int(written[9]) << 8
        let payload = [UInt8](written.dropFirst(10 + headerLength))
        let values = payload.withUnsafeBytes { raw in
            (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        expectClose(values, fixture.output)
    }

    @Test func listMetadataAndHealth() throws {
        let list = try run(["list"])
        #expect(list.status == 0)
        #expect(list.output.contains("credit_default"))
        #expect(list.output.contains("READY"))
        let metadata = try run(["metadata", "credit_default"])
        #expect(metadata.status == 0)
        #expect(metadata.output.contains("features"))
        #expect(metadata.output.contains("[-1, 10]"))
        let health = try run(["health", "--model", "credit_default"])
        #expect(health.status == 0)
        #expect(health.output.contains("ready: yes"))
    }

    @Test func statsShowWhatTheServerDid() throws {
        let row = "[[85, 0.25, 0.30, 41, 120, 6, 20, 8, 0, 1]]"
        #expect(try run(["infer", "credit_default", "--input", "features=\(row)"]).status == 0)
        #expect(try run(["infer", "credit_default", "--input", "features=[[1, 2]]"]).status != 0)
        let stats = try run(["stats", "--model", "credit_default"])
        #expect(stats.status == 0, "stderr: \(stats.error)")
        #expect(stats.output.contains("credit_default version 1"))
        #expect(stats.output.contains("ok 1, failed 1 (INVALID_ARGUMENT 1)"))
        #expect(stats.output.contains("batch sizes   1:1"))
    }

    @Test func errorsExitNonZeroWithAClearMessage() throws {
        let missing = try run(["infer", "no_such_model", "--input", "x=[1]"])
        #expect(missing.status != 0)
        #expect(missing.error.contains("NOT_FOUND"))
        let shape = try run(["infer", "credit_default", "--input", "features=[[1, 2, 3]]"])
        #expect(shape.status != 0)
        #expect(shape.error.contains("INVALID_ARGUMENT"))
        let usage = try run(["frobnicate"])
        #expect(usage.status == 2)
        #expect(usage.error.contains("unknown command"))
    }
}
