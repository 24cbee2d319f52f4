/// The human-readable lines: the live line printed every window and the final summary.
public enum SummaryText {
    /// `[   3.0s] sent 60000  done 59990  err 0  rate 20000/s  p50 120.00us  p99 450.00us`.
    public static func liveLine(_ w: WindowSummary, totalSent: UInt64, totalCompleted: UInt64, totalErrors: UInt64) -> String {
        "[" + Format.pad(Format.fixed(w.elapsed, 1), 6) + "s]" + (w.warmup ? " warmup" : "")
            + " sent " + String(totalSent) + "  done " + String(totalCompleted) + "  err " + String(totalErrors)
            + "  rate " + Format.fixed(w.rate, 0) + "/s"
            + "  p50 " + formatNanoseconds(w.p50) + "  p99 " + formatNanoseconds(w.p99) + " (last " + Format.fixed(w.seconds, 1) + "s)"
    }

    /// The final summary of one load level.
    public static func summary(_ report: RunReport) -> String {
        let m = report.measurements
        let c = m.counts
        var lines: [String] = []
        lines.append("== \(report.settings.model): \(report.mode), \(report.connectionCount) connection(s), "
                     + "\(Format.fixed(m.measuredSeconds, 2)) s measured"
                     + (report.plan.warmup > .zero ? " after \(report.plan.warmup) warm-up" : "")
                     + (report.stable.map { $0 ? ", stable" : ", NOT stable within the trial limit" } ?? ""))
        if let target = report.mode.targetRate {
            lines.append("  rate        target " + Format.fixed(target, 1) + "/s, achieved " + Format.fixed(m.sendRate, 1)
                         + "/s, sent late " + percent(m.lateShare) + " (" + String(c.late) + " more than "
                         + formatNanoseconds(report.settings.lateThresholdNanoseconds) + " behind schedule)")
        } else {
            lines.append("  rate        achieved " + Format.fixed(m.sendRate, 1) + "/s (closed loop: no schedule, corrected = uncorrected)")
        }
        lines.append("  throughput  " + Format.fixed(m.throughput, 1) + " successful/s")
        lines.append("  latency     " + Format.pad("corrected", 12) + "  " + Format.pad("uncorrected", 12))
        let rows: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("p99.99", 99.99)]
        for (name, p) in rows {
            lines.append("    " + Format.padRight(name, 8) + Format.pad(formatNanoseconds(m.corrected.value(atPercentile: p)), 12)
                         + "  " + Format.pad(formatNanoseconds(m.uncorrected.value(atPercentile: p)), 12))
        }
        lines.append("    " + Format.padRight("max", 8) + Format.pad(formatNanoseconds(m.corrected.max), 12)
                     + "  " + Format.pad(formatNanoseconds(m.uncorrected.max), 12))
        let errors = c.errorsByStatusName.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        lines.append("  errors      " + (errors.isEmpty ? "none" : errors.joined(separator: ", ")))
        lines.append("  requests    sent \(c.sent) = ok \(c.ok) + failed \(c.failed) + timed out \(c.timedOut)"
                     + (c.isBalanced ? "" : "  MISMATCH: \(Int64(c.sent) - Int64(c.completed)) unaccounted"))
        lines.append("  client CPU  " + Format.fixed(report.cpuCores, 2) + " cores of " + String(Clock.onlineCPUs) + ", "
                     + formatNanoseconds(UInt64(report.cpuPerRequest.rounded())) + " per request")
        for warning in report.warnings {
            lines.append("  !!! WARNING: " + warning)
        }
        return lines.joined(separator: "\n")
    }
}
