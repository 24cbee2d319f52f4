import Foundation
import Testing
@testable import LoadGenerator

extension TimingSensitiveTests {
/// The built `tensorwire-loadgen` against a real `tensorwire-server` process.
@Suite struct ExecutableTests {
    let loadgen = LoadGenTestEnvironment.binary("tensorwire-loadgen")

    func connection(_ server: RealServer) -> [String] {
        let certificates = LoadGenTestEnvironment.certificates
        return ["--port", String(server.port), "--ca", certificates + "/ca.pem",
                "--cert", certificates + "/client.pem", "--key", certificates + "/client-key.pem"]
    }

    @Test func failedThresholdExitsWith99() throws {
        let server = try RealServer()
        let json = LoadGenTestEnvironment.temporaryPath("run.json")
        let result = try runProcess(loadgen, ["credit_default", "--rate", "200", "--duration", "1s", "--warmup", "200ms",
                                              "--assert", "p99<1ns", "--assert", "errors==0", "--json", json] + connection(server))
        #expect(result.status == 99, "\(result.output)")
        #expect(!result.output.contains("Sanitizer"), "\(result.output)")
        #expect(result.output.contains("threshold p99<1ns"))
        #expect(result.output.contains("FAILED"))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect(root["passed"] as? Bool == false)
        let step = try #require((root["steps"] as? [[String: Any]])?.first)
        let sent = step["sent"] as! Int, ok = step["ok"] as! Int
        #expect(sent >= 150 && sent == ok + (step["failed"] as! Int) + (step["timed_out"] as! Int))
        #expect(step["accounted"] as? Bool == true)
    }

    @Test func passingThresholdsExitZeroAndWriteEveryReport() throws {
        let server = try RealServer()
        let base = LoadGenTestEnvironment.temporaryPath("pass")
        let result = try runProcess(loadgen, [
            "credit_default", "--rate", "400", "--connections", "2", "--requests", "300", "--warmup", "0", "--batch", "4",
            "--assert", "errors==0", "--assert", "p99<5s", "--assert", "sent==300",
            "--csv", base + ".csv", "--hgrm", base + ".hgrm", "--html", base + ".html", "--json", base + ".json",
        ] + connection(server))
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("Sanitizer"), "\(result.output)")
        #expect(result.output.contains("sent 300 = ok 300 + failed 0 + timed out 0"), "\(result.output)")
        let csv = try String(contentsOfFile: base + ".csv", encoding: .utf8)
        #expect(csv.hasPrefix("Request Rate,Inferences/Second,"))
        let hgrm = try String(contentsOfFile: base + ".hgrm", encoding: .utf8)
        #expect(hgrm.hasPrefix("       Value     Percentile TotalCount 1/(1-Percentile)"))
        #expect(FileManager.default.fileExists(atPath: base + "-uncorrected.hgrm"))
        let html = try String(contentsOfFile: base + ".html", encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        #expect(!html.contains("http"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try runProcess(loadgen, []).status == 2)
        #expect(try runProcess(loadgen, ["m", "--rate", "10", "--concurrency", "2"]).status == 2)
        #expect(try runProcess(loadgen, ["m", "--assert", "p99<<"]).status == 2)
        #expect(try runProcess(loadgen, ["--help"]).status == 0)
    }

    @Test func unreachableServerExitsOne() throws {
        let certificates = LoadGenTestEnvironment.certificates
        let result = try runProcess(loadgen, ["m", "--port", "1", "--ca", certificates + "/ca.pem", "--duration", "1s"])
        #expect(result.status == 1, "\(result.output)")
    }
}
}
