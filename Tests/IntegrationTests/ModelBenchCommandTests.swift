import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol

/// `tensorwire model bench` as a script runs it: one JSON object per configuration, clear refusals.
@Suite struct ModelBenchCommandTests {
    let zoo = TestEnvironment.repositoryRoot + "/Tests/Fixtures/zoo"

    private func objects(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
        }
    }

    @Test func jsonHasOneSaneObjectPerConfiguration() throws {
        let model = zoo + "/mlp_legacy.onnx"
        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "bench", model, "--batch", "1,5", "--threads", "1,2", "--optimize", "none,all",
            "--iterations", "40", "--warmup", "3", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.error)")
        let rows = try objects(result.output)
        var configurations: Set<String> = []
        for row in rows {
            let batch = try #require(row["batch"] as? Int), threads = try #require(row["threads"] as? Int)
            let level = try #require(row["optimization"] as? String)
            configurations.insert("\(batch)/\(threads)/\(level)")
            #expect(row["model"] as? String == model)
            #expect(row["iterations"] as? Int == 40)
            let median = try #require((row["median_us"] as? NSNumber)?.doubleValue)
            let p90 = try #require((row["p90_us"] as? NSNumber)?.doubleValue)
            let p99 = try #require((row["p99_us"] as? NSNumber)?.doubleValue)
            let minimum = try #require((row["min_us"] as? NSNumber)?.doubleValue)
            let maximum = try #require((row["max_us"] as? NSNumber)?.doubleValue)
            let rate = try #require((row["inferences_per_s"] as? NSNumber)?.doubleValue)
            #expect(minimum > 0 && minimum <= median && median <= p90 && p90 <= p99 && p99 <= maximum, "\(row)")
            // A 12-feature MLP takes microseconds, not a second, even in a debug build on a busy machine.
            #expect(median < 1_000_000)
            #expect(abs(rate - Double(batch) * 1e6 / median) <= 0.001 * rate + 0.1, "inferences/s must be batch / median: \(row)")
        }
        #expect(rows.count == 8)
        let expected = Set([1, 5].flatMap { b in [1, 2].flatMap { t in ["none", "all"].map { "\(b)/\(t)/\($0)" } } })
        #expect(configurations == expected)
    }

    @Test func planOnAndOffAreReportedPerConfiguration() throws {
        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "bench", TestEnvironment.repositoryRoot + "/examples/models/credit_default/1/model.onnx",
            "--batch", "1,3", "--plan", "on,off", "--iterations", "5", "--warmup", "2", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.error)")
        let plans = try objects(result.output).map { "\($0["batch"] ?? "?")/\($0["plan"] ?? "?")" }
        #expect(plans == ["1/planned", "3/planned", "1/general", "3/general"])
        let refused = try TestEnvironment.runTool("tensorwire", ["model", "bench", zoo + "/mlp_legacy.onnx", "--plan", "maybe"])
        #expect(refused.status != 0 && refused.error.contains("--plan takes on, off or on,off"), "\(refused)")
    }

    @Test func profileListsEveryPlanNodeWithItsTime() throws {
        let model = zoo + "/encoder_padding_legacy.onnx"
        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "bench", model, "--batch", "2", "--dim", "seq=5", "--optimize", "none,all",
            "--iterations", "20", "--warmup", "2", "--json", "--profile",
        ])
        #expect(result.status == 0, "stderr: \(result.error)")
        let rows = try objects(result.output)
        #expect(rows.count == 2)
        for row in rows {
            let nodes = try #require(row["profile"] as? [[String: Any]], "\(row)")
            let ops = nodes.compactMap { $0["op"] as? String }
            #expect(ops.count == nodes.count && nodes.allSatisfy { ($0["node"] as? String)?.isEmpty == false })
            #expect(nodes.allSatisfy { (($0["us"] as? NSNumber)?.doubleValue ?? -1) >= 0 }, "\(nodes)")
            // The fused graph runs the attention as one node; the unfused one as its parts.
            if row["optimization"] as? String == "all" {
                #expect(ops.contains("Attention") && !ops.contains("Softmax"), "\(ops)")
            } else {
                #expect(ops.contains("Softmax") && !ops.contains("Attention"), "\(ops)")
            }
        }
        let text = try TestEnvironment.runTool("tensorwire", [
            "model", "bench", model, "--batch", "2", "--dim", "seq=5", "--iterations", "20", "--profile",
        ])
        #expect(text.status == 0 && text.output.contains("profile: 10 plan nodes") && text.output.contains("Attention"), "\(text.output)")
    }

    @Test func textReportsTheConfigurationAndPercentiles() throws {
        // Int64 ids, a bool mask and a second symbolic dimension given with --dim.
        let result = try TestEnvironment.runTool("tensorwire", [
            "model", "bench", zoo + "/encoder_padding_legacy.onnx", "--dim", "seq=5", "--batch", "2", "--iterations", "5", "--warmup", "1",
        ])
        #expect(result.status == 0, "stderr: \(result.error)")
        for expected in ["padding_mask all true", "seq=5", "median_us", "p99_us", "inferences/s"] {
            #expect(result.output.contains(expected), "missing '\(expected)' in:\n\(result.output)")
        }
        let row = try #require(result.output.split(separator: "\n").last).split(separator: " ")
        #expect(row.prefix(5) == ["2", "1", "all", "unplanned", "5"] || row.prefix(5) == ["2", "1", "all", "planned", "5"], "\(row)")
        let ids = try TestEnvironment.runTool("tensorwire", [
            "model", "bench", zoo + "/token_classifier_legacy.onnx", "--dim", "seq=7", "--batch", "3", "--iterations", "5", "--json",
        ])
        #expect(ids.status == 0, "stderr: \(ids.error)")
        #expect(try objects(ids.output).count == 1)
    }

    @Test func givenInputsAreUsedAndMustMatchTheBatch() throws {
        let directory = NSTemporaryDirectory() + "tensorwire-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = try WireTensor(name: "x", shape: [3, 12], floats: (0..<36).map { Float($0) / 36 })
        try Data(NPYFormat.encode(input)).write(to: URL(fileURLWithPath: directory + "/x.npy"))
        let model = zoo + "/mlp_legacy.onnx"
        let fits = try TestEnvironment.runTool("tensorwire", ["model", "bench", model, "--batch", "3", "--input", "x=\(directory)/x.npy", "--iterations", "5", "--json"])
        #expect(fits.status == 0, "stderr: \(fits.error)")
        #expect(try objects(fits.output).first?["batch"] as? Int == 3)
        let clash = try TestEnvironment.runTool("tensorwire", ["model", "bench", model, "--batch", "1,3", "--input", "x=\(directory)/x.npy", "--iterations", "5"])
        #expect(clash.status != 0)
        #expect(clash.error.contains("--batch 1"), "stderr: \(clash.error)")
    }

    @Test(arguments: [
        (["--optimize", "fast"], "--optimize takes none, basic, all"),
        (["--batch", "0"], "--batch needs positive integers"),
        (["--batch", "1,x"], "--batch needs positive integers"),
        (["--threads", "0"], "--threads needs positive integers"),
        (["--iterations", "5", "--seconds", "1"], "--iterations or --seconds, not both"),
        (["--dim", "seq=4"], "no such symbolic dimension"),
        (["--dim", "batch=4"], "set it with --batch"),
    ])
    func refusesBadOptions(_ arguments: [String], _ message: String) throws {
        let result = try TestEnvironment.runTool("tensorwire", ["model", "bench", zoo + "/mlp_legacy.onnx"] + arguments)
        #expect(result.status == 2)
        #expect(result.error.contains(message), "stderr: \(result.error)")
        #expect(result.output.isEmpty, "nothing is timed before the options are checked")
    }

    @Test func refusesABatchAFixedBatchModelCannotRun() throws {
        let model = TestEnvironment.repositoryRoot + "/Tests/Fixtures/ops/conv2d_basic.onnx"   // x is [1, 3, 6, 6]
        let result = try TestEnvironment.runTool("tensorwire", ["model", "bench", model, "--batch", "1,64", "--iterations", "5"])
        #expect(result.status == 2)
        #expect(result.error.contains("no symbolic batch dimension"), "stderr: \(result.error)")
        #expect(result.error.contains("batch 1 only, not 64"), "stderr: \(result.error)")
        #expect(result.output.isEmpty)
        let one = try TestEnvironment.runTool("tensorwire", ["model", "bench", model, "--batch", "1", "--iterations", "5", "--json"])
        #expect(one.status == 0, "stderr: \(one.error)")
    }

    @Test func refusesAMissingSymbolicDimensionByName() throws {
        let result = try TestEnvironment.runTool("tensorwire", ["model", "bench", zoo + "/encoder_padding_legacy.onnx", "--iterations", "5"])
        #expect(result.status == 2)
        #expect(result.error.contains("--dim seq=N"), "stderr: \(result.error)")
    }

    @Test func benchOptionsBelongToModelCommandsOnly() throws {
        let run = try TestEnvironment.runTool("tensorwire", ["model", "run", zoo + "/mlp_legacy.onnx", "--batch", "3"])
        #expect(run.status == 2)
        #expect(run.error.contains("model run does not take --batch"), "stderr: \(run.error)")
        let list = try TestEnvironment.runTool("tensorwire", ["list", "--threads", "2"])
        #expect(list.status == 2)
        #expect(list.error.contains("list does not take --threads"), "stderr: \(list.error)")
    }
}
