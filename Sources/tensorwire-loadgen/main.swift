// tensorwire-loadgen: parses flags, wires the LoadGenerator pieces together, prints, and sets
// the exit status. The measuring itself lives in the LoadGenerator module.
#if canImport(Glibc)
import Glibc
#endif
import LoadGenerator
import TensorWireClient

/// Writes straight to a file descriptor: unbuffered, so live lines appear at once even when
/// stdout is a pipe.
func emit(_ text: String, to fd: Int32 = 1) {
    var text = text + "\n"
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}

func fail(_ message: String, status: Int32) -> Never {
    emit("tensorwire-loadgen: " + message, to: 2)
    exit(status)
}

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    if error.description.isEmpty {
        emit(Options.usage)
        exit(0)
    }
    emit("tensorwire-loadgen: \(error.description)\n\n" + Options.usage, to: 2)
    exit(2)
}
let model = options.model!

// Connections first: a wrong address or certificate should fail before any other work.
let configuration: ClientConfiguration
do { configuration = try options.clientConfiguration() } catch { fail(error.description, status: 1) }
var clients: [TensorWireClient] = []
for _ in 0..<options.connections {
    do { clients.append(try TensorWireClient(configuration: configuration)) } catch {
        fail("\(error)", status: 1)
    }
}

let inputs: InputSource
do {
    if !options.npy.isEmpty {
        inputs = try InputSource.npy(files: options.npy)
    } else {
        inputs = try InputSource.random(client: clients[0], model: model, version: options.version,
                                        batchSize: options.batch, shapeOverrides: options.shapes)
    }
} catch {
    fail(error.description, status: 1)
}

var settings = RunSettings(
    model: model, version: options.version, outputs: options.outputs, mode: options.modes[0], threads: options.threads,
    maxInFlightPerConnection: options.maxInFlight, timeout: options.timeout,
    lateThresholdNanoseconds: options.lateThreshold, requestLimit: options.requests)
settings.spinMarginNanoseconds = options.spinMargin

// Live line: totals since the start of the level, rate and percentiles of the last window.
nonisolated(unsafe) var totals = (sent: UInt64(0), completed: UInt64(0), errors: UInt64(0))
func live(_ window: WindowSummary) {
    totals.sent += window.sent
    totals.completed += window.completed
    totals.errors += window.errors
    if !options.quiet {
        emit(SummaryText.liveLine(window, totalSent: totals.sent, totalCompleted: totals.completed, totalErrors: totals.errors))
    }
}

var reports: [RunReport] = []
if options.isSweep {
    let sweep = Sweep(steps: options.modes, stability: options.stability, latencyLimitNanoseconds: options.latencyLimit)
    reports = sweep.run(
        clients: clients, inputs: inputs, settings: settings, warmup: options.warmup, window: options.window,
        onStepStart: { mode in
            totals = (0, 0, 0)
            emit("-- step: \(mode)")
        },
        onWindow: live,
        onStepEnd: { report in emit(SummaryText.summary(report)) })
    if let limit = options.latencyLimit, let last = reports.last, last.measurements.corrected.value(atPercentile: 99) > limit {
        emit("sweep stopped: p99 \(formatNanoseconds(last.measurements.corrected.value(atPercentile: 99))) exceeded the latency limit \(formatNanoseconds(limit))")
    }
} else {
    emit("tensorwire-loadgen: \(model), \(settings.mode), \(clients.count) connection(s), warm-up \(options.warmup), "
         + (options.requests.map { "\($0) requests" } ?? "duration \(options.duration)"))
    let plan = RunPlan(warmup: options.warmup, duration: options.requests == nil ? options.duration : nil, window: options.window)
    let report = LoadSession.run(clients: clients, inputs: inputs, settings: settings, plan: plan, onWindow: live)
    reports = [report]
    emit(SummaryText.summary(report))
}

// Thresholds hold for every level of a sweep.
var outcomes: [ThresholdOutcome] = []
for threshold in options.thresholds {
    for report in reports {
        let outcome = ThresholdOutcome(threshold: threshold, report: report)
        outcomes.append(outcome)
        let level = reports.count > 1 ? " at \(report.mode)" : ""
        emit("threshold \(threshold.description)\(level): \(threshold.format(outcome.actual)) -> \(outcome.passed ? "passed" : "FAILED")")
    }
}

do {
    if let path = options.json { try writeTextFile(path, JSONReport.render(reports, thresholds: outcomes)) }
    if let path = options.csv { try writeTextFile(path, CSVReport.render(reports)) }
    if let path = options.html {
        try writeTextFile(path, HTMLReport.render(reports, title: "tensorwire-loadgen: \(model)", thresholds: outcomes))
    }
    if let path = options.hgrm {
        let base = path.hasSuffix(".hgrm") ? String(path.dropLast(5)) : path
        for (index, report) in reports.enumerated() {
            let stem = reports.count > 1 ? "\(base)-step\(index + 1)" : base
            let correctedPath = reports.count > 1 ? stem + ".hgrm" : path
            try writeTextFile(correctedPath, HistogramLog.render(report.measurements.corrected))
            try writeTextFile(stem + "-uncorrected.hgrm", HistogramLog.render(report.measurements.uncorrected))
        }
    }
} catch {
    fail(error.description, status: 1)
}

for client in clients { client.close() }
if outcomes.contains(where: { !$0.passed }) {
    emit("tensorwire-loadgen: \(outcomes.filter { !$0.passed }.count) threshold(s) failed", to: 2)
    exit(Threshold.exitCode)
}
exit(0)
