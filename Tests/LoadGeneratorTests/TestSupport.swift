import Foundation
import Testing
@testable import LoadGenerator
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

/// Paths, certificates and process helpers for the load-generator tests.
enum LoadGenTestEnvironment {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built executables sit next to the test bundle.
    static let binaryDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    static func binary(_ name: String) -> String { binaryDirectory + "/" + name }

    /// A dev PKI made once per test process by the project's certificate script.
    static let certificates: String = {
        let directory = NSTemporaryDirectory() + "tensorwire-loadgen-tests-\(getpid())/pki"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot + "/certs/make-dev-certs.sh", directory]
        process.standardOutput = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "make-dev-certs.sh failed")
        return directory
    }()

    static func clientConfiguration(port: Int) -> ClientConfiguration {
        ClientConfiguration(port: port, trustRootsFile: certificates + "/ca.pem", defaultTimeout: .seconds(20))
    }

    static func temporaryPath(_ name: String) -> String {
        let directory = NSTemporaryDirectory() + "tensorwire-loadgen-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + name
    }

    /// Whether this process runs under ThreadSanitizer (`swift test --sanitize=thread`), which
    /// slows the client several-fold: timing tests then use longer known delays.
    static let underThreadSanitizer: Bool = dlsym(dlopen(nil, RTLD_NOW), "__tsan_init") != nil
}

/// An in-process TensorWire server that answers every request with a valid Infer response
/// after a known delay, scheduled on its own timer thread, and optionally stops answering once
/// for a known pause: the ground truth for the accuracy tests.
final class DelayServer: @unchecked Sendable {
    let core: DelayCore
    private let server: TLSServer
    let port: Int

    init(delay: Duration, stallAfterRequests: Int? = nil, stallPause: Duration = .zero) throws {
        let core = DelayCore(delay: LoadGenerator.nanoseconds(delay), stallAfterRequests: stallAfterRequests,
                             stallPause: LoadGenerator.nanoseconds(stallPause))
        self.core = core
        let certificates = LoadGenTestEnvironment.certificates
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
        server = TLSServer(configuration: TLSServerConfiguration(), tls: context) { _ in DelaySession(core: core) }
        port = try server.start()
        core.startResponder()
    }

    deinit { stop() }

    func stop() {
        core.stopResponder()
        server.stop()
    }

    var stallWindow: (start: UInt64, end: UInt64)? { core.stallWindow }
    var requestCount: Int { core.requestCount }
    /// The delays the server actually applied (receipt to write) to requests received from
    /// `instant` on, as it measured them: the ground truth the client's percentiles are
    /// compared with.
    func serviceTimes(receivedFrom instant: UInt64) -> HdrHistogram { core.serviceTimes(receivedFrom: instant) }
}

/// The delay server's schedule: requests queue in arrival order with their due instants (the
/// delay is constant, so due instants never decrease and a FIFO is a priority queue).
final class DelayCore: @unchecked Sendable {
    let delay: UInt64
    let stallAfterRequests: Int?
    let stallPause: UInt64
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var queue: [(due: UInt64, received: UInt64, connection: TLSConnection, stream: UInt32)] = []
    private var serviceTimes: [(received: UInt64, nanoseconds: UInt64)] = []
    private var head = 0
    private var received = 0
    private var stall: (start: UInt64, end: UInt64)?
    private var stopping = false
    private var responder: WorkerThread?

    init(delay: UInt64, stallAfterRequests: Int?, stallPause: UInt64) {
        self.delay = delay
        self.stallAfterRequests = stallAfterRequests
        self.stallPause = stallPause
    }

    var stallWindow: (start: UInt64, end: UInt64)? { lock.withLock { stall } }
    var requestCount: Int { lock.withLock { received } }
    func serviceTimes(receivedFrom instant: UInt64) -> HdrHistogram {
        let histogram = HdrHistogram()
        lock.withLock { for entry in serviceTimes where entry.received >= instant { histogram.record(entry.nanoseconds) } }
        return histogram
    }

    func recordServiceTime(received: UInt64, _ nanoseconds: UInt64) { lock.withLock { serviceTimes.append((received, nanoseconds)) } }

    /// Called on the loop thread for each request: schedules its answer.
    func schedule(connection: TLSConnection, stream: UInt32) {
        let now = Clock.now()
        lock.withLock {
            received += 1
            if let stallAfterRequests, received == stallAfterRequests, stall == nil {
                stall = (now, now + stallPause)
            }
            var due = now + delay
            // Every answer that falls due during the stall waits for its end.
            if let stall, due >= stall.start && due < stall.end { due = stall.end }
            queue.append((due, now, connection, stream))
            lock.broadcast()
        }
    }

    func startResponder() {
        let thread = WorkerThread { [self] in respond() }
        lock.withLock { responder = thread }
    }

    func stopResponder() {
        let thread = lock.withLock { () -> WorkerThread? in
            stopping = true
            lock.broadcast()
            defer { responder = nil }
            return responder
        }
        thread?.join()
    }

    private func respond() {
        Clock.tightenTimerSlack()
        while true {
            lock.lock()
            while !stopping && head == queue.count { lock.wait(untilNanoseconds: Clock.now() + 100_000_000) }
            if stopping {
                lock.unlock()
                return
            }
            let next = queue[head]
            lock.unlock()
            Clock.sleep(until: next.due)
            lock.withLock {
                head += 1
                if head > 4096 {
                    queue.removeFirst(head)
                    head = 0
                }
            }
            let connection = next.connection
            let stream = next.stream
            let received = next.received
            connection.eventLoop.execute { [self] in
                var writer = ByteWriter()
                let output = try! WireTensor(name: "y", shape: [1, 1], floats: [0.5])
                writer.writeResponse(streamID: stream, head: ResponseHead()) { writer, start in
                    writer.writeInferResponse(modelName: "m", modelVersion: 1, outputs: [output], payloadStart: start)
                }
                writer.withUnsafeReadableBytes { connection.write($0) }
                recordServiceTime(received: received, Clock.now() - received)
            }
        }
    }
}

/// Protocol handling of the delay server: HELLO, then every REQUEST is scheduled.
final class DelaySession: ConnectionHandler {
    private var decoder = FrameDecoder(expectsPreface: true)
    private let core: DelayCore

    init(core: DelayCore) { self.core = core }

    func connectionDidBecomeActive(_ connection: TLSConnection) {}
    func connectionDidClose(_ connection: TLSConnection) {}

    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
        decoder.append(bytes)
        while let frame = try? decoder.next() {
            switch frame.header.type {
            case .hello:
                var writer = ByteWriter()
                writer.writeHelloAck(HelloAck(serverName: "delay"))
                writer.withUnsafeReadableBytes { connection.write($0) }
            case .request:
                core.schedule(connection: connection, stream: frame.header.streamID)
            default:
                break
            }
        }
    }
}

/// Runs a built executable to completion; returns its exit status and output.
func runProcess(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A real `tensorwire-server` on an ephemeral port serving the example models.
final class RealServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let output = Pipe()

    init() throws {
        let certificates = LoadGenTestEnvironment.certificates
        process.executableURL = URL(fileURLWithPath: LoadGenTestEnvironment.binary("tensorwire-server"))
        process.arguments = [
            "--models", LoadGenTestEnvironment.repositoryRoot + "/examples/models", "--port", "0",
            "--cert", certificates + "/server.pem", "--key", certificates + "/server-key.pem",
            "--ca", certificates + "/ca.pem", "--client-auth", "optional",
        ]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while true {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on") }),
               let portText = line.split(separator: " ").first(where: { $0.contains("127.0.0.1:") })?.split(separator: ":").last,
               let port = Int(portText) {
                self.port = port
                return
            }
        }
        process.terminate()
        throw StartError(output: text)
    }

    struct StartError: Error { var output: String }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A run report built from known values, for the report-format tests.
func syntheticReport(mode: LoadMode = .openLoop(rate: 1000), values: [UInt64] = Array(1...1000).map { $0 * 1000 }) -> RunReport {
    let corrected = HdrHistogram()
    let uncorrected = HdrHistogram()
    for value in values {
        corrected.record(value)
        uncorrected.record(value / 2)
    }
    var counts = RequestCounts()
    counts.sent = UInt64(values.count) + 3
    counts.ok = UInt64(values.count)
    counts.recordError(.unavailable)
    counts.recordError(.deadlineExceeded)
    counts.recordError(.deadlineExceeded)
    counts.late = 5
    let measurements = RunMeasurements(counts: counts, corrected: corrected, uncorrected: uncorrected,
                                       measuredNanoseconds: 1_000_000_000, drained: true)
    let window = WindowStatistics(counts: counts, corrected: corrected, uncorrected: uncorrected)
    let windows = (1...3).map { WindowSummary(window, elapsed: Double($0), seconds: 1, warmup: $0 == 1) }
    return RunReport(settings: RunSettings(model: "credit_default", mode: mode), plan: RunPlan(), connectionCount: 2,
                     measurements: measurements, windows: windows, cpuNanoseconds: 50_000_000,
                     cpuWallNanoseconds: 1_000_000_000, stable: true, warnings: [])
}
