import LoadGenerator
import TensorWireClient

/// Everything the command line says.
struct Options {
    // Connection (the same flags and defaults as the `tensorwire` CLI).
    var host = "127.0.0.1"
    var port = 7443
    var caFile: String?
    var certificateFile: String?
    var privateKeyFile: String?
    var serverName: String?
    var token = ""
    var noClientCertificate = false
    var busyPoll = false

    // What to call.
    var model: String?
    var version: UInt64 = 0
    var outputs: [String] = []
    var batch = 1
    var shapes: [String: [Int]] = [:]
    var npy: [(name: String, paths: [String])] = []

    // Load.
    var rate: Double?
    var concurrency: Int?
    var rateRange: [Double]?
    var concurrencyRange: [Double]?
    var connections = 1
    var threads = 1
    var duration: Duration = .seconds(10)
    var warmup: Duration = .seconds(1)
    var requests: Int?
    var timeout: Duration = .seconds(10)
    var maxInFlight = 200
    var lateThreshold: UInt64 = 1_000_000
    var spinMargin: UInt64 = Clock.spinMargin
    var window: Duration = .seconds(1)
    var stability = StabilityCriteria()
    var latencyLimit: UInt64?

    // Output.
    var json: String?
    var csv: String?
    var hgrm: String?
    var html: String?
    var thresholds: [Threshold] = []
    var quiet = false

    static let usage = """
    usage: tensorwire-loadgen MODEL [options]

    load (one of; default --concurrency 1):
      --rate R                  open loop: R requests/s on a fixed schedule (latency from intended send time)
      --concurrency N           closed loop: N requests in flight, each sent when the previous returns
      --rate-range S:E:STEP     sweep open-loop rates; each step runs until stable
      --concurrency-range S:E:STEP  sweep concurrencies; each step runs until stable
      --connections N           TLS connections (default 1)
      --threads N               open-loop pacing threads; rate and connections are split among them (default 1)
      --duration T              measured time per run (default 10s; units ns/us/ms/s/m)
      --warmup T                not measured, before the measured part (default 1s)
      --requests N              stop after N measured requests
      --timeout T               per-request deadline (default 10s); expired requests count as timed out
      --max-inflight N          open loop: calls in flight per connection before sends wait (default 200; 1 = wrk2)
      --late-threshold T        a send later than this behind schedule counts as late (default 1ms)
      --spin T                  open loop: spin this long before each send instead of sleeping (default 30us;
                                more is more precise and costs more CPU, 0 sleeps all the way)
    sweeps:
      --window T                stability/live window (default 1s)
      --stability-percent P     windows must agree within P% on throughput and p99 (default 10)
      --stability-windows N     how many windows must agree (default 3)
      --max-trials N            windows per step before giving up on stability (default 10)
      --latency-limit T         stop the sweep after the first step whose p99 exceeds T
    inputs (default: random tensors shaped as the model's metadata says):
      --model-version N         model version (default: latest)
      --batch N                 size of a variable first dimension (default 1)
      --shape NAME=D1,D2,...    the whole shape of input NAME (for other variable dimensions)
      --npy NAME=FILE           .npy file for input NAME; repeat to cycle through several
      --output NAME             request only this output (repeatable)
    reports:
      --json FILE  --csv FILE  --hgrm FILE (corrected; uncorrected goes to FILE's -uncorrected twin)  --html FILE
      --assert EXPR             threshold, e.g. 'p99<500us', 'errors==0', 'late<1%'; failure exits 99
      --quiet                   no live line every window
    connection (default: 127.0.0.1:7443 with the dev certificates from `make serve`):
      --host ADDR  --port N  --ca FILE  --cert FILE  --key FILE  --server-name NAME  --token TOKEN
      --no-client-cert  --busy-poll
    exit status: 0 done, 1 could not run (connection, model, inputs, report files), 2 usage, 99 a threshold failed
    """

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var words = arguments[...]
        func value(_ flag: String) throws(UsageError) -> String {
            guard let value = words.popFirst() else { throw UsageError("\(flag) needs a value") }
            return value
        }
        func integer(_ flag: String, minimum: Int = 1) throws(UsageError) -> Int {
            let text = try value(flag)
            guard let number = Int(text), number >= minimum else { throw UsageError("\(flag) needs an integer >= \(minimum), got '\(text)'") }
            return number
        }
        func number(_ flag: String) throws(UsageError) -> Double {
            let text = try value(flag)
            guard let number = Double(text), number > 0, number.isFinite else { throw UsageError("\(flag) needs a positive number, got '\(text)'") }
            return number
        }
        func duration(_ flag: String, allowZero: Bool = false) throws(UsageError) -> Duration {
            let text = try value(flag)
            guard let ns = parseDuration(text), allowZero || ns > 0 else {
                throw UsageError("\(flag) needs a duration such as 10s, 500ms or 250us, got '\(text)'")
            }
            return .nanoseconds(Int64(ns))
        }
        while let flag = words.popFirst() {
            switch flag {
            case "-h", "--help": throw UsageError("")
            case "--host": options.host = try value(flag)
            case "--port": options.port = try integer(flag, minimum: 0)
            case "--ca": options.caFile = try value(flag)
            case "--cert": options.certificateFile = try value(flag)
            case "--key": options.privateKeyFile = try value(flag)
            case "--server-name": options.serverName = try value(flag)
            case "--token": options.token = try value(flag)
            case "--no-client-cert": options.noClientCertificate = true
            case "--busy-poll": options.busyPoll = true
            case "--model": options.model = try value(flag)
            case "--model-version": options.version = UInt64(try integer(flag, minimum: 0))
            case "--output": options.outputs.append(try value(flag))
            case "--batch": options.batch = try integer(flag)
            case "--shape":
                let (name, text) = try keyValue(try value(flag), flag)
                let dims = text.split(separator: ",").map { Int($0) }
                guard !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! >= 0 }) else { throw UsageError("--shape \(name)=\(text): dimensions must be non-negative integers") }
                options.shapes[name] = dims.map { $0! }
            case "--npy":
                let (name, path) = try keyValue(try value(flag), flag)
                if let index = options.npy.firstIndex(where: { $0.name == name }) { options.npy[index].paths.append(path) } else { options.npy.append((name, [path])) }
            case "--rate": options.rate = try number(flag)
            case "--concurrency": options.concurrency = try integer(flag)
            case "--rate-range": options.rateRange = try Sweep.parseRange(try value(flag))
            case "--concurrency-range":
                let values = try Sweep.parseRange(try value(flag))
                guard values.allSatisfy({ $0 == $0.rounded() }) else { throw UsageError("--concurrency-range needs whole numbers") }
                options.concurrencyRange = values
            case "--connections": options.connections = try integer(flag)
            case "--threads": options.threads = try integer(flag)
            case "--duration": options.duration = try duration(flag)
            case "--warmup": options.warmup = try duration(flag, allowZero: true)
            case "--requests": options.requests = try integer(flag)
            case "--timeout", "--timeout-ms":
                if flag == "--timeout-ms" { options.timeout = .milliseconds(try integer(flag)) } else { options.timeout = try duration(flag) }
            case "--max-inflight": options.maxInFlight = try integer(flag)
            case "--late-threshold":
                let text = try value(flag)
                guard let ns = parseDuration(text) else { throw UsageError("--late-threshold needs a duration, got '\(text)'") }
                options.lateThreshold = ns
            case "--spin":
                let text = try value(flag)
                guard let ns = parseDuration(text), ns <= 10_000_000 else { throw UsageError("--spin needs a duration up to 10ms, got '\(text)'") }
                options.spinMargin = ns
            case "--window": options.window = try duration(flag)
            case "--stability-percent": options.stability.tolerance = try number(flag) / 100
            case "--stability-windows": options.stability = StabilityCriteria(windows: try integer(flag), tolerance: options.stability.tolerance, maxTrials: options.stability.maxTrials)
            case "--max-trials": options.stability = StabilityCriteria(windows: options.stability.windows, tolerance: options.stability.tolerance, maxTrials: try integer(flag))
            case "--latency-limit":
                let text = try value(flag)
                guard let ns = parseDuration(text), ns > 0 else { throw UsageError("--latency-limit needs a duration, got '\(text)'") }
                options.latencyLimit = ns
            case "--json": options.json = try value(flag)
            case "--csv": options.csv = try value(flag)
            case "--hgrm": options.hgrm = try value(flag)
            case "--html": options.html = try value(flag)
            case "--assert": options.thresholds.append(try Threshold(parsing: try value(flag)))
            case "--quiet", "-q": options.quiet = true
            default:
                if flag.hasPrefix("-") { throw UsageError("unknown option \(flag)") }
                guard options.model == nil else { throw UsageError("unexpected argument '\(flag)' (the model is '\(options.model!)')") }
                options.model = flag
            }
        }
        guard options.model != nil else { throw UsageError("no model given") }
        let modes = [options.rate != nil, options.concurrency != nil, options.rateRange != nil, options.concurrencyRange != nil].filter { $0 }.count
        guard modes <= 1 else { throw UsageError("--rate, --concurrency, --rate-range and --concurrency-range exclude each other") }
        return options
    }

    /// The load levels to run: one, or a sweep's steps.
    var modes: [LoadMode] {
        if let rate { return [.openLoop(rate: rate)] }
        if let concurrency { return [.closedLoop(concurrency: concurrency)] }
        if let rateRange { return rateRange.map { .openLoop(rate: $0) } }
        if let concurrencyRange { return concurrencyRange.map { .closedLoop(concurrency: Int($0)) } }
        return [.closedLoop(concurrency: 1)]
    }

    var isSweep: Bool { rateRange != nil || concurrencyRange != nil }

    func clientConfiguration() throws(UsageError) -> ClientConfiguration {
        var configuration = ClientConfiguration(host: host, port: port, serverName: serverName, authToken: token,
                                                defaultTimeout: timeout, busyPoll: busyPoll)
        guard DevelopmentCertificates.apply(to: &configuration, caFile: caFile, certificateFile: certificateFile,
                                            privateKeyFile: privateKeyFile, presentClientCertificate: !noClientCertificate) else {
            throw UsageError(DevelopmentCertificates.missingTrustRootsMessage)
        }
        return configuration
    }
}

private func keyValue(_ text: String, _ flag: String) throws(UsageError) -> (String, String) {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { throw UsageError("\(flag) needs NAME=VALUE, got '\(text)'") }
    return (String(text[..<equals]), String(text[text.index(after: equals)...]))
}

/// "10" (seconds), "10s", "500ms", "250us", "100ns", "2m" -> nanoseconds.
func parseDuration(_ text: String) -> UInt64? {
    var number = Substring(text)
    var scale = 1e9
    for (suffix, factor) in [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9)] where number.hasSuffix(suffix) {
        number = number.dropLast(suffix.count)
        scale = factor
        break
    }
    guard let value = Double(number), value >= 0, value.isFinite, value * scale < 1e18 else { return nil }
    return UInt64((value * scale).rounded())
}
