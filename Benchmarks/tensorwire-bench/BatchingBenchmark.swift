#if canImport(Glibc)
import Glibc
#endif
import Foundation
import InferenceEngine
import TensorWireClient
import TensorWireProtocol
import TensorWireServer
import TensorWireTransport

/// Batching on vs off for one model, end to end through the client over TLS, in one run:
/// throughput with 64 requests in flight, p50 with one in flight, and the engine's own cost at
/// batch 1 and 64, which bounds what batching can gain (issue: gain >= 0.8 x T_off / (T_off - C1 + C64)).
struct BatchingBenchmark {
    let modelFile: String
    let modelName: String
    let inputName: String
    let rowShape: [Int]
    let certificates: String
    let seconds: Double
    let batchingConfig: String

    struct Result {
        var label: String
        var throughput: Double
        var p50OneInFlight: Double
        var meanBatch: Double
        var batchSizes: String
    }

    func run() throws {
        let c1 = try engineMicroseconds(batch: 1)
        let c64 = try engineMicroseconds(batch: 64)
        let off = try measure(label: "batching off", config: "{}")
        let on = try measure(label: "batching on", config: batchingConfig)
        let tOff = 1_000_000 / off.throughput  // us per request at 64 in flight, batching off
        let bound = tOff / (tOff - c1 + c64 / 64 * 1)  // per-request cost drops from C1 to C64/64
        let gain = on.throughput / off.throughput
        print("model \(modelName): engine C1 = \(String(format: "%.1f", c1)) us, C64 = \(String(format: "%.1f", c64)) us (\(String(format: "%.2f", c64 / 64)) us/row)")
        print("config on: \(batchingConfig)")
        print("                 throughput@64     p50@1    mean batch")
        for result in [off, on] {
            print("\(result.label.padding(toLength: 15, withPad: " ", startingAt: 0)) \(String(format: "%10.0f/s %9.1f us %10.2f", result.throughput, result.p50OneInFlight, result.meanBatch))   sizes \(result.batchSizes)")
        }
        print(String(format: "gain %.2fx; bound T_off/(T_off - C1 + C64/64) = %.2fx; goal 0.8 x bound = %.2fx -> %@",
                     gain, bound, 0.8 * bound, gain >= 0.8 * bound ? "met" : "NOT met"))
        print(String(format: "p50 at one in flight: on/off = %.2fx (goal <= 1.10x)", on.p50OneInFlight / off.p50OneInFlight))
    }

    private func input(rows: Int) -> [Float] {
        let count = rows * rowShape.reduce(1, *)
        return (0..<count).map { Float($0 % 97) * 0.01 }
    }

    /// Prints the engine's per-inference compute at batch 1 and 64 as one JSON line.
    func printEngineCosts() throws {
        // Alternating passes, lowest median: a slow moment of the VM (other load, frequency)
        // must not inflate the bound the batching goal is judged against.
        var c1 = Double.infinity, c64 = Double.infinity
        for _ in 0..<3 {
            c1 = min(c1, try engineMicroseconds(batch: 1))
            c64 = min(c64, try engineMicroseconds(batch: 64) / 64)
        }
        print("{\"model\": \"\(modelName)\", \"c1_us\": \(c1), \"c64_us_per_inference\": \(c64)}")
    }

    private func engineMicroseconds(batch: Int) throws -> Double {
        let model = try Model(contentsOf: modelFile)
        let tensor = Tensor(shape: [batch] + rowShape, scalars: input(rows: batch))
        var samples: [UInt64] = []
        let iterations = batch == 1 ? 2200 : 400
        for iteration in 0..<iterations {
            let start = MonotonicClock.nanoseconds()
            _ = try model.run([inputName: tensor])
            if iteration >= iterations / 10 { samples.append(MonotonicClock.nanoseconds() - start) }
        }
        samples.sort()
        return Double(samples[samples.count / 2]) / 1000
    }

    private func measure(label: String, config: String) throws -> Result {
        let root = NSTemporaryDirectory() + "tensorwire-bench-\(getpid())-\(label.replacingOccurrences(of: " ", with: "-"))"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root + "/\(modelName)/1", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: modelFile, toPath: root + "/\(modelName)/1/model.onnx")
        try config.write(toFile: root + "/\(modelName)/config.json", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: root) }

        var configuration = ServerConfiguration(modelRepository: root, certificateChainFile: certificates + "/server.pem",
                                                privateKeyFile: certificates + "/server-key.pem")
        configuration.port = 0
        let server = try TensorWireServer(configuration: configuration)
        let port = try server.start()
        defer { server.stop() }
        let client = try TensorWireClient(configuration: ClientConfiguration(
            port: port, trustRootsFile: certificates + "/ca.pem", defaultTimeout: .seconds(30)))
        defer { client.close() }
        let tensor = try WireTensor(name: inputName, shape: [1] + rowShape, floats: input(rows: 1))

        // One in flight: closed loop, blocking calls.
        var samples: [UInt64] = []
        for iteration in 0..<3000 {
            let start = MonotonicClock.nanoseconds()
            _ = try client.infer(model: modelName, inputs: [tensor])
            if iteration >= 300 { samples.append(MonotonicClock.nanoseconds() - start) }
        }
        samples.sort()
        let p50 = Double(samples[samples.count / 2]) / 1000

        // 64 in flight: 64 threads, each a closed loop of blocking calls on the shared connection.
        let before = try client.stats(model: modelName).first
        let completed = Locked(0)
        let stop = MonotonicClock.deadline(after: .milliseconds(Int64(seconds * 1000)))
        let start = MonotonicClock.nanoseconds()
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            var done = 0
            while MonotonicClock.nanoseconds() < stop {
                if (try? client.infer(model: modelName, inputs: [tensor])) != nil { done += 1 }
            }
            completed.withLock { $0 += done }
        }
        let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let after = try client.stats(model: modelName).first
        let executions = Double((after?.executions ?? 0) - (before?.executions ?? 0))
        let rows = Double(completed.withLock { $0 })
        var histogram = after?.batchSizes ?? [:]
        for (size, count) in before?.batchSizes ?? [:] { histogram[size, default: 0] -= count }
        let top = histogram.filter { $0.value > 0 }.sorted { $0.value > $1.value }.prefix(6)
            .map { "\($0.key):\($0.value)" }.joined(separator: " ")
        return Result(label: label, throughput: rows / elapsed, p50OneInFlight: p50,
                      meanBatch: executions > 0 ? rows / executions : 0, batchSizes: top)
    }
}
