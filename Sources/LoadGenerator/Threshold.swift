/// A pass/fail condition on a run's results, k6 style: `p99<500us`, `errors==0`,
/// `p(99.9)<=2ms`, `late<1%`, `rate>=19000`. A failed threshold makes the executable exit
/// with ``exitCode`` so that CI pipelines can gate on it.
///
/// Metrics:
/// - latency (corrected unless prefixed `uncorrected.`): `p50`, `p(99.9)`, `p99.99`, `min`,
///   `max`, `mean`; the value takes a unit `ns`, `us`, `ms` (the default) or `s`.
/// - counts: `errors`, `timeouts`, `failed` (errors other than timeouts), `sent`, `ok`.
/// - shares in percent: `error_rate`, `late` (a trailing `%` is allowed).
/// - rates per second: `rate` (sent), `throughput` (successful).
public struct Threshold: Sendable, Equatable, CustomStringConvertible {
    /// Exit status when a threshold fails (k6's).
    public static let exitCode: Int32 = 99

    public enum Metric: Sendable, Equatable {
        case percentile(Double, corrected: Bool)
        case min(corrected: Bool), max(corrected: Bool), mean(corrected: Bool)
        case errors, timeouts, failed, sent, ok
        case errorRate, late
        case rate, throughput

        var isLatency: Bool {
            switch self {
            case .percentile, .min, .max, .mean: true
            default: false
            }
        }
    }

    public enum Comparison: String, Sendable, CaseIterable {
        case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==", notEqual = "!=", less = "<", greater = ">"

        func holds(_ lhs: Double, _ rhs: Double) -> Bool {
            switch self {
            case .less: lhs < rhs
            case .lessOrEqual: lhs <= rhs
            case .greater: lhs > rhs
            case .greaterOrEqual: lhs >= rhs
            case .equal: lhs == rhs
            case .notEqual: lhs != rhs
            }
        }
    }

    public var metric: Metric
    public var comparison: Comparison
    /// The bound, in ns for latencies, percent for shares, plain numbers otherwise.
    public var bound: Double
    /// The expression as written.
    public var description: String

    /// Parses an expression such as `p99<500us`.
    public init(parsing text: String) throws(UsageError) {
        let expression = text.filter { !$0.isWhitespace }
        // Two-character operators first so that "<=" is not read as "<".
        var found: (Comparison, Range<String.Index>)?
        search: for index in expression.indices {
            for comparison in Comparison.allCases where expression[index...].hasPrefix(comparison.rawValue) {
                found = (comparison, index..<expression.index(index, offsetBy: comparison.rawValue.count))
                break search
            }
        }
        guard let (comparison, range) = found else {
            throw UsageError("threshold '\(text)' has no comparison (<, <=, >, >=, ==, !=)")
        }
        let name = String(expression[..<range.lowerBound]).lowercased()
        let valueText = String(expression[range.upperBound...])
        let metric = try Self.metric(named: name, in: text)
        self.metric = metric
        self.comparison = comparison
        self.bound = try Self.value(valueText, for: metric, in: text)
        self.description = text
    }

    private static func metric(named name: String, in text: String) throws(UsageError) -> Metric {
        var name = name
        var corrected = true
        for prefix in ["uncorrected.", "uncorrected_"] where name.hasPrefix(prefix) {
            corrected = false
            name.removeFirst(prefix.count)
        }
        switch name {
        case "min": return .min(corrected: corrected)
        case "max": return .max(corrected: corrected)
        case "mean", "avg": return .mean(corrected: corrected)
        case "errors": return .errors
        case "timeouts": return .timeouts
        case "failed": return .failed
        case "sent": return .sent
        case "ok": return .ok
        case "error_rate", "errorrate": return .errorRate
        case "late": return .late
        case "rate": return .rate
        case "throughput": return .throughput
        default: break
        }
        var digits = Substring(name)
        if digits.hasPrefix("p(") && digits.hasSuffix(")") {
            digits = digits.dropFirst(2).dropLast()
        } else if digits.hasPrefix("p") {
            digits = digits.dropFirst()
        } else {
            throw UsageError("threshold '\(text)': unknown metric '\(name)'")
        }
        guard let percentile = Double(digits), (0...100).contains(percentile) else {
            throw UsageError("threshold '\(text)': '\(name)' is not a percentile like p99 or p(99.9)")
        }
        return .percentile(percentile, corrected: corrected)
    }

    private static func value(_ text: String, for metric: Metric, in expression: String) throws(UsageError) -> Double {
        var number = Substring(text)
        var scale = 1.0
        if metric.isLatency {
            scale = 1e6  // milliseconds unless a unit says otherwise, as in k6
            for (suffix, factor) in [("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)] where number.hasSuffix(suffix) {
                number = number.dropLast(suffix.count)
                scale = factor
                break
            }
        } else if number.hasSuffix("%") {
            guard metric == .errorRate || metric == .late else {
                throw UsageError("threshold '\(expression)': only error_rate and late are percentages")
            }
            number = number.dropLast()
        }
        guard let value = Double(number), value.isFinite else {
            throw UsageError("threshold '\(expression)': '\(text)' is not a number\(metric.isLatency ? " with an optional unit (ns, us, ms, s)" : "")")
        }
        return value * scale
    }

    /// The metric's value in `report` (ns for latencies, percent for shares).
    public func actual(in report: RunReport) -> Double {
        let m = report.measurements
        func histogram(_ corrected: Bool) -> HdrHistogram { corrected ? m.corrected : m.uncorrected }
        switch metric {
        case .percentile(let p, let corrected): return Double(histogram(corrected).value(atPercentile: p))
        case .min(let corrected): return Double(histogram(corrected).min)
        case .max(let corrected): return Double(histogram(corrected).max)
        case .mean(let corrected): return histogram(corrected).mean
        case .errors: return Double(m.counts.errors)
        case .timeouts: return Double(m.counts.timedOut)
        case .failed: return Double(m.counts.failed)
        case .sent: return Double(m.counts.sent)
        case .ok: return Double(m.counts.ok)
        case .errorRate: return m.counts.sent > 0 ? 100 * Double(m.counts.errors) / Double(m.counts.sent) : 0
        case .late: return 100 * m.lateShare
        case .rate: return m.sendRate
        case .throughput: return m.throughput
        }
    }

    /// Whether `report` meets the threshold.
    public func holds(for report: RunReport) -> Bool {
        comparison.holds(actual(in: report), bound)
    }

    /// `value` as the metric's unit reads (latencies with a unit).
    public func format(_ value: Double) -> String {
        if metric.isLatency { return formatNanoseconds(UInt64(max(0, value.rounded()))) }
        switch metric {
        case .errorRate, .late: return format2(value) + "%"
        case .rate, .throughput: return format2(value) + "/s"
        default: return String(Int(value))
        }
    }
}
