/// One row per load level, in perf_analyzer's column layout so existing spreadsheets and
/// plotting scripts read it, followed by columns perf_analyzer lacks.
///
/// Latencies are microseconds, corrected. The protocol carries no server-side timings, so the
/// server breakdown columns are 0 and "Network+Server Send/Recv" holds the mean uncorrected
/// latency (the whole round trip as the client saw it).
public enum CSVReport {
    public static func render(_ reports: [RunReport]) -> String {
        let closed = reports.first?.mode.concurrency != nil
        var header = [closed ? "Concurrency" : "Request Rate", "Inferences/Second", "Client Send",
                      "Network+Server Send/Recv", "Server Queue", "Server Compute Input", "Server Compute Infer",
                      "Server Compute Output", "Client Recv", "p50 latency", "p90 latency", "p95 latency", "p99 latency"]
        header += ["p99.9 latency", "p99.99 latency", "max latency", "uncorrected p50 latency", "uncorrected p99 latency",
                   "Achieved Request Rate", "Late %", "Sent", "OK", "Failed", "Timed Out", "Stable"]
        var lines = [header.joined(separator: ",")]
        for report in reports {
            let m = report.measurements
            func us(_ ns: UInt64) -> String { String((ns + 500) / 1000) }
            let level: String = switch report.mode {
            case .openLoop(let rate): Format.fixed(rate, rate == rate.rounded() ? 0 : 2)
            case .closedLoop(let concurrency): String(concurrency)
            }
            let row: [String] = [
                level, Format.fixed(m.throughput, 2), "0", String(Int((m.uncorrected.mean / 1000).rounded())),
                "0", "0", "0", "0", "0",
                us(m.corrected.value(atPercentile: 50)), us(m.corrected.value(atPercentile: 90)),
                us(m.corrected.value(atPercentile: 95)), us(m.corrected.value(atPercentile: 99)),
                us(m.corrected.value(atPercentile: 99.9)), us(m.corrected.value(atPercentile: 99.99)), us(m.corrected.max),
                us(m.uncorrected.value(atPercentile: 50)), us(m.uncorrected.value(atPercentile: 99)),
                Format.fixed(m.sendRate, 2), Format.fixed(100 * m.lateShare, 3),
                String(m.counts.sent), String(m.counts.ok), String(m.counts.failed), String(m.counts.timedOut),
                report.stable.map { $0 ? "yes" : "no" } ?? "",
            ]
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
