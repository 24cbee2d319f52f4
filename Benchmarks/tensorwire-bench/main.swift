#if canImport(Glibc)
import Glibc
#endif
import Foundation
import InferenceEngine
import TensorWireClient
import TensorWireProtocol
import TensorWireServer
import TensorWireTransport

// Closed-loop, one-connection latency of Infer on the example MLP, side by side with a bare TLS
// ping-pong of the same request size over the same transport code, in one run. The ratio is the
// number that matters: how much the protocol, routing and inference add to a TLS round trip.

let usage = """
usage: tensorwire-bench --models DIR --certs DIR [--iterations N] [--warmup N] [--mode blocking|busy-poll|both] [--json]
       tensorwire-bench batching --models DIR --certs DIR [--seconds S]
       tensorwire-bench engine --models DIR     (engine compute per inference at batch 1 and 64, JSON)
       tensorwire-bench gemm                    (SGEMM GFLOP/s as a share of the measured FMA peak)
"""

struct Options {
    var models = "examples/models"
    var certificates = "certs/dev"
    var iterations = 20_000
    var warmup = 2_000
    var modes = ["blocking", "busy-poll"]
    var json = false
}

var options = Options()
var arguments = CommandLine.arguments.dropFirst()
var scenario = "latency"
var seconds = 3.0
if ["batching", "engine", "gemm"].contains(arguments.first) { scenario = arguments.removeFirst() }
while let flag = arguments.popFirst() {
    switch flag {
    case "--models": options.models = arguments.popFirst() ?? options.models
    case "--certs": options.certificates = arguments.popFirst() ?? options.certificates
    case "--iterations": options.iterations = Int(arguments.popFirst() ?? "") ?? options.iterations
    case "--warmup": options.warmup = Int(arguments.popFirst() ?? "") ?? options.warmup
    case "--mode":
        let mode = arguments.popFirst() ?? "both"
        options.modes = mode == "both" ? ["blocking", "busy-poll"] : [mode]
    case "--json": options.json = true
    case "--seconds": seconds = Double(arguments.popFirst() ?? "") ?? seconds
    default:
        print(usage)
        exit(flag == "--help" || flag == "-h" ? 0 : 2)
    }
}
signal(SIGPIPE, SIG_IGN)
// As tensorwire-server does at start, so that in-process numbers match a served model's.
AllocatorTuning.keepFreedMemoryForReuse()

if scenario == "gemm" {
    GemmBenchmark.run()
    exit(0)
}
if scenario == "engine" {
    do {
        for (model, input, rowShape) in [("credit_default", "features", [10]), ("tick_transformer", "ticks", [32, 8])] {
            try BatchingBenchmark(
                modelFile: options.models + "/\(model)/1/model.onnx", modelName: model, inputName: input,
                rowShape: rowShape, certificates: options.certificates, seconds: 0, batchingConfig: ""
            ).printEngineCosts()
        }
    } catch {
        print("tensorwire-bench: \(error)")
        exit(1)
    }
    exit(0)
}
if scenario == "batching" {
    let batching = #"{"max_batch_size": 64, "dynamic_batching": {"max_queue_delay_us": 0, "max_queue_size": 1024}}"#
    do {
        for (model, input, rowShape) in [("credit_default", "features", [10]), ("tick_transformer", "ticks", [32, 8])] {
            try BatchingBenchmark(
                modelFile: options.models + "/\(model)/1/model.onnx", modelName: model, inputName: input,
                rowShape: rowShape, certificates: options.certificates, seconds: seconds, batchingConfig: batching
            ).run()
            print("")
        }
    } catch {
        print("tensorwire-bench: \(error)")
        exit(1)
    }
    exit(0)
}

struct Summary {
    var name: String
    var samples: [UInt64]
    func percentile(_ p: Double) -> Double {
        let index = min(samples.count - 1, Int((p / 100 * Double(samples.count)).rounded(.up)) - 1)
        return Double(samples[max(0, index)]) / 1000
    }
    init(name: String, samples: [UInt64]) {
        self.name = name
        self.samples = samples.sorted()
    }
}

/// Echoes every byte back: the bare TLS round trip the protocol is measured against.
final class EchoHandler: ConnectionHandler {
    func connectionDidBecomeActive(_ connection: TLSConnection) {}
    func connectionDidClose(_ connection: TLSConnection) {}
    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) { connection.write(bytes) }
}

@MainActor func measurePingPong(port: Int, context: TLSContext, requestSize: Int, busyPoll: Bool) throws -> [UInt64] {
    let socket = try TLSClientSocket.connect(host: "127.0.0.1", port: port, context: context, serverName: "localhost", timeout: .seconds(5))
    defer { socket.close() }
    let message = [UInt8](repeating: 0xA5, count: requestSize)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 64)
    defer { buffer.deallocate() }
    var samples: [UInt64] = []
    samples.reserveCapacity(options.iterations)
    for iteration in 0..<(options.warmup + options.iterations) {
        let start = MonotonicClock.nanoseconds()
        try message.withUnsafeBytes { try socket.writeAll($0, timeout: .seconds(5)) }
        var received = 0
        while received < requestSize {
            switch try socket.read(into: buffer) {
            case .bytes(let count): received += count
            case .closed: throw TLSError("echo server closed")
            case .wouldBlock: if !busyPoll && !socket.hasBufferedData { _ = socket.waitUntilReadable(timeout: .seconds(5)) }
            }
        }
        if iteration >= options.warmup { samples.append(MonotonicClock.nanoseconds() - start) }
    }
    return samples
}

@MainActor func measureInfer(port: Int, busyPoll: Bool) throws -> [UInt64] {
    let certificates = options.certificates
    let client = try TensorWireClient(configuration: ClientConfiguration(
        port: port, trustRootsFile: certificates + "/ca.pem", certificateChainFile: certificates + "/client.pem",
        privateKeyFile: certificates + "/client-key.pem", busyPoll: busyPoll))
    defer { client.close() }
    let row: [Float] = [85, 0.25, 0.30, 41, 120, 6, 20, 8, 0, 1]  // one applicant, raw units
    let input = try WireTensor(name: "features", shape: [1, 10], floats: row)
    var samples: [UInt64] = []
    samples.reserveCapacity(options.iterations)
    for iteration in 0..<(options.warmup + options.iterations) {
        let start = MonotonicClock.nanoseconds()
        let result = try client.infer(model: "credit_default", inputs: [input])
        let elapsed = MonotonicClock.nanoseconds() - start
        precondition(result.outputs.count == 1)
        if iteration >= options.warmup { samples.append(elapsed) }
    }
    return samples
}

/// The engine alone (no TLS, no protocol): how much of Infer's latency is compute.
func measureEngine(models: String, iterations: Int, warmup: Int) throws -> [UInt64] {
    let model = try Model(contentsOf: models + "/credit_default/1/model.onnx")
    let input = Tensor(shape: [1, 10], scalars: [85, 0.25, 0.30, 41, 120, 6, 20, 8, 0, 1])
    var samples: [UInt64] = []
    samples.reserveCapacity(iterations)
    for iteration in 0..<(warmup + iterations) {
        let start = MonotonicClock.nanoseconds()
        let outputs = try model.run(["features": input])
        let elapsed = MonotonicClock.nanoseconds() - start
        precondition(outputs.count == 1)
        if iteration >= warmup { samples.append(elapsed) }
    }
    return samples
}

/// The size of the Infer request frame, so the ping-pong moves the same number of bytes.
func inferRequestSize() throws -> Int {
    let input = try WireTensor(name: "features", shape: [1, 10], floats: Array(repeating: 0, count: 10))
    var writer = ByteWriter()
    writer.writeRequest(streamID: 1, head: RequestHead(method: MethodName.infer, timeoutMicroseconds: 30_000_000)) { w, start in
        w.writeInferRequest(modelName: "credit_default", modelVersion: 0, inputs: [input], requestedOutputs: [], payloadStart: start)
    }
    return writer.count
}

do {
    let certificates = options.certificates
    let serverContext = try TLSContext(configuration: .server(
        certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
    let clientContext = try TLSContext(configuration: .client(trustRootsFile: certificates + "/ca.pem"))
    let requestSize = try inferRequestSize()
    let engine = Summary(name: "engine-only", samples: try measureEngine(models: options.models, iterations: options.iterations, warmup: options.warmup))
    var rows: [(mode: String, ping: Summary, infer: Summary)] = []
    for mode in options.modes {
        let busyPoll = mode == "busy-poll"
        var echoConfiguration = TLSServerConfiguration()
        echoConfiguration.busyPoll = busyPoll
        let echo = TLSServer(configuration: echoConfiguration, tls: serverContext) { _ in EchoHandler() }
        let echoPort = try echo.start()
        let ping = Summary(name: "tls-ping-pong", samples: try measurePingPong(port: echoPort, context: clientContext, requestSize: requestSize, busyPoll: busyPoll))
        echo.stop()

        var configuration = ServerConfiguration(modelRepository: options.models, certificateChainFile: certificates + "/server.pem",
                                                privateKeyFile: certificates + "/server-key.pem")
        configuration.port = 0
        configuration.busyPoll = busyPoll
        let server = try TensorWireServer(configuration: configuration)
        let port = try server.start()
        let infer = Summary(name: "infer", samples: try measureInfer(port: port, busyPoll: busyPoll))
        server.stop()
        rows.append((mode, ping, infer))
    }
    if options.json {
        for row in rows {
            print("{\"mode\": \"\(row.mode)\", \"request_bytes\": \(requestSize), \"iterations\": \(options.iterations), "
                + "\"tls_ping_pong_p50_us\": \(row.ping.percentile(50)), \"tls_ping_pong_p99_us\": \(row.ping.percentile(99)), "
                + "\"infer_p50_us\": \(row.infer.percentile(50)), \"infer_p99_us\": \(row.infer.percentile(99)), "
                + "\"ratio_p50\": \(row.infer.percentile(50) / row.ping.percentile(50)), \"ratio_p99\": \(row.infer.percentile(99) / row.ping.percentile(99)), "
                + "\"engine_only_p50_us\": \(engine.percentile(50))}")
        }
    } else {
        print("one connection, closed loop, \(options.iterations) iterations after \(options.warmup) warm-up; request \(requestSize) bytes")
        print("mode        path             p50 us    p90 us    p99 us  p99.9 us")
        for row in rows {
            for summary in [row.ping, row.infer] {
                let cells = [50, 90, 99, 99.9].map { String(format: "%9.1f", summary.percentile($0)) }.joined(separator: " ")
                print("\(row.mode.padding(toLength: 11, withPad: " ", startingAt: 0)) \(summary.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(cells)")
            }
            let ratios = String(format: "p50 %.2fx, p99 %.2fx", row.infer.percentile(50) / row.ping.percentile(50),
                                row.infer.percentile(99) / row.ping.percentile(99))
            print("\(row.mode) infer / ping-pong: \(ratios)")
        }
        let cells = [50, 90, 99, 99.9].map { String(format: "%9.1f", engine.percentile($0)) }.joined(separator: " ")
        print("in-process  engine-only     \(cells)   (Model.run, batch 1, no TLS or protocol)")
    }
} catch {
    print("tensorwire-bench: \(error)")
    exit(1)
}
