/// The whole result as one JSON document: one entry per load level (a single run has one),
/// the thresholds and their outcome. Latencies are integer nanoseconds.
public enum JSONReport {
    /// The percentiles every latency summary carries.
    public static let percentiles: [(name: String, value: Double)] = [
        ("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9), ("p99.99", 99.99),
    ]

    public static func render(_ reports: [RunReport], thresholds: [ThresholdOutcome] = []) -> String {
        var out = "{\n  \"tool\": \"tensorwire-loadgen\",\n"
        if let first = reports.first {
            out += "  \"model\": \(Format.jsonString(first.settings.model)),\n"
            out += "  \"model_version\": \(first.settings.version),\n"
        }
        out += "  \"steps\": [\n"
        out += reports.map(step).joined(separator: ",\n")
        out += "\n  ],\n  \"thresholds\": [\n"
        out += thresholds.map { outcome in
            "    {\"expression\": \(Format.jsonString(outcome.threshold.description)), "
                + "\"actual\": \(Format.jsonNumber(outcome.actual)), \"passed\": \(outcome.passed)}"
        }.joined(separator: ",\n")
        out += "\n  ],\n  \"passed\": \(thresholds.allSatisfy(\.passed))\n}\n"
        return out
    }

    static func latency(_ histogram: HdrHistogram) -> String {
        var fields = ["\"count\": \(histogram.totalCount)", "\"min\": \(histogram.min)"]
        for (name, value) in percentiles { fields.append("\"\(name)\": \(histogram.value(atPercentile: value))") }
        fields += ["\"max\": \(histogram.max)", "\"mean\": \(Format.jsonNumber(histogram.mean.rounded()))",
                   "\"stddev\": \(Format.jsonNumber(histogram.standardDeviation.rounded()))"]
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func step(_ report: RunReport) -> String {
        let m = report.measurements
        let c = m.counts
        var fields: [String] = []
        switch report.mode {
        case .openLoop(let rate):
            fields += ["\"mode\": \"open\"", "\"target_rate\": \(Format.jsonNumber(rate))", "\"concurrency\": null"]
        case .closedLoop(let concurrency):
            fields += ["\"mode\": \"closed\"", "\"target_rate\": null", "\"concurrency\": \(concurrency)"]
        }
        let errors = c.errorsByStatusName.sorted { $0.key < $1.key }
            .map { "\(Format.jsonString($0.key)): \($0.value)" }.joined(separator: ", ")
        fields.append("\"connections\": \(report.connectionCount)")
        fields.append("\"measured_seconds\": \(Format.jsonNumber(m.measuredSeconds))")
        fields.append("\"sent\": \(c.sent)")
        fields.append("\"ok\": \(c.ok)")
        fields.append("\"failed\": \(c.failed)")
        fields.append("\"timed_out\": \(c.timedOut)")
        fields.append("\"accounted\": \(c.isBalanced)")
        fields.append("\"late\": \(c.late)")
        fields.append("\"late_share\": \(Format.jsonNumber(m.lateShare))")
        fields.append("\"late_threshold_ns\": \(report.settings.lateThresholdNanoseconds)")
        fields.append("\"send_rate\": \(Format.jsonNumber(m.sendRate))")
        fields.append("\"throughput\": \(Format.jsonNumber(m.throughput))")
        fields.append("\"errors_by_status\": {\(errors)}")
        let corrected = latency(m.corrected)
        let uncorrected = latency(m.uncorrected)
        fields.append("\"latency_ns\": {\"corrected\": \(corrected), \"uncorrected\": \(uncorrected)}")
        let cpuSeconds = Format.jsonNumber(Double(report.cpuNanoseconds) / 1e9)
        let cores = Format.jsonNumber(report.cpuCores)
        let perRequest = Format.jsonNumber(report.cpuPerRequest.rounded())
        fields.append("\"cpu\": {\"seconds\": \(cpuSeconds), \"cores\": \(cores), \"per_request_ns\": \(perRequest)}")
        let stable = report.stable.map { "\($0)" } ?? "null"
        fields.append("\"stable\": \(stable)")
        let warnings = report.warnings.map(Format.jsonString).joined(separator: ", ")
        fields.append("\"warnings\": [\(warnings)]")
        let windows = report.windows.map(window).joined(separator: ", ")
        fields.append("\"windows\": [\(windows)]")
        return "    {\n      " + fields.joined(separator: ",\n      ") + "\n    }"
    }

    static func window(_ w: WindowSummary) -> String {
        "{\"elapsed\": \(Format.jsonNumber(w.elapsed)), \"sent\": \(w.sent), \"completed\": \(w.completed), "
            + "\"errors\": \(w.errors), \"rate\": \(Format.jsonNumber(w.rate.rounded())), \"p50\": \(w.p50), "
            + "\"p99\": \(w.p99), \"max\": \(w.max), \"warmup\": \(w.warmup)}"
    }
}
