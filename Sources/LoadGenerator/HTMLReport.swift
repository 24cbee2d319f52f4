#if canImport(Glibc)
import Glibc
#endif

/// One self-contained HTML page: a summary table, a latency-over-time plot and a
/// percentile-spectrum plot, both inline SVG. No scripts, stylesheets or fonts are loaded from
/// anywhere, so the page can be archived as a CI artifact and opened offline.
public enum HTMLReport {
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public static func render(_ reports: [RunReport], title: String = "tensorwire-loadgen report", thresholds: [ThresholdOutcome] = []) -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Format.html(title))</title>
        <style>
        body { font-family: sans-serif; margin: 24px; color: #222; }
        table { border-collapse: collapse; margin: 12px 0; font-size: 12px; }
        th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
        td:first-child { text-align: left; }
        svg { max-width: 100%; height: auto; }
        th { background: #f3f3f3; }
        .warn { color: #b00000; font-weight: bold; }
        .fail { color: #b00000; } .pass { color: #007000; }
        figure { margin: 16px 0; }
        </style></head><body>
        <h1>\(Format.html(title))</h1>

        """
        if let first = reports.first {
            html += "<p>Model <b>\(Format.html(first.settings.model))</b>, \(first.connectionCount) connection(s). "
                + "Corrected latency counts from each request's intended send time (open loop); uncorrected from its actual send.</p>\n"
        }
        html += "<table><tr><th>load</th><th>achieved rate/s</th><th>late</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>"
            + "<th>p99.99</th><th>max</th><th>uncorr. p99</th><th>uncorr. max</th><th>sent</th><th>ok</th><th>failed</th><th>timed out</th><th>client CPU/request</th></tr>\n"
        for report in reports {
            let m = report.measurements
            let cells = [
                report.mode.description, Format.fixed(m.sendRate, 1), percent(m.lateShare),
                formatNanoseconds(m.corrected.value(atPercentile: 50)), formatNanoseconds(m.corrected.value(atPercentile: 90)),
                formatNanoseconds(m.corrected.value(atPercentile: 99)), formatNanoseconds(m.corrected.value(atPercentile: 99.9)),
                formatNanoseconds(m.corrected.value(atPercentile: 99.99)), formatNanoseconds(m.corrected.max),
                formatNanoseconds(m.uncorrected.value(atPercentile: 99)), formatNanoseconds(m.uncorrected.max),
                String(m.counts.sent), String(m.counts.ok), String(m.counts.failed), String(m.counts.timedOut),
                formatNanoseconds(UInt64(report.cpuPerRequest.rounded())),
            ]
            html += "<tr>" + cells.map { "<td>\(Format.html($0))</td>" }.joined() + "</tr>\n"
        }
        html += "</table>\n"
        for report in reports {
            for warning in report.warnings { html += "<p class=\"warn\">WARNING (\(Format.html(report.mode.description))): \(Format.html(warning))</p>\n" }
        }
        if !thresholds.isEmpty {
            html += "<ul>\n"
            for outcome in thresholds {
                html += "<li class=\"\(outcome.passed ? "pass" : "fail")\">\(Format.html(outcome.threshold.description)): "
                    + "\(Format.html(outcome.threshold.format(outcome.actual))) \(outcome.passed ? "passed" : "FAILED")</li>\n"
            }
            html += "</ul>\n"
        }
        html += "<figure>\n" + latencyOverTime(reports) + "</figure>\n"
        html += "<figure>\n" + percentileSpectrum(reports) + "</figure>\n"
        html += "</body></html>\n"
        return html
    }

    /// Per-window corrected p50, p99 and max, and uncorrected p99, against elapsed time (steps
    /// of a sweep follow each other).
    static func latencyOverTime(_ reports: [RunReport]) -> String {
        var p50: [(x: Double, y: Double)] = [], p99: [(x: Double, y: Double)] = []
        var maximum: [(x: Double, y: Double)] = [], uncorrected: [(x: Double, y: Double)] = []
        var offset = 0.0
        for report in reports {
            for w in report.windows where w.completed > 0 {
                let x = offset + w.elapsed
                p50.append((x, Double(w.p50) / 1e6))
                p99.append((x, Double(w.p99) / 1e6))
                maximum.append((x, Double(w.max) / 1e6))
                uncorrected.append((x, Double(w.uncorrectedP99) / 1e6))
            }
            offset += report.windows.last?.elapsed ?? 0
        }
        let chart = SVGChart(
            title: "Latency over time (per window)", xLabel: "elapsed time (s)", yLabel: "latency (ms)",
            series: [
                .init(name: "max (corrected)", color: "#d62728", points: maximum),
                .init(name: "p99 (corrected)", color: "#ff7f0e", points: p99),
                .init(name: "p99 (uncorrected)", color: "#9467bd", points: uncorrected, dashed: true),
                .init(name: "p50 (corrected)", color: "#1f77b4", points: p50),
            ],
            xTicks: nil, xRange: nil)
        return chart.render()
    }

    /// Latency against percentile on HdrHistogram's log scale (x = log10(1 / (1 - p))).
    static func percentileSpectrum(_ reports: [RunReport]) -> String {
        var series: [SVGChart.Series] = []
        var xMax = 2.0
        for (index, report) in reports.prefix(colors.count).enumerated() {
            let color = colors[index % colors.count]
            let name = reports.count == 1 ? "" : " \(report.mode)"
            for (corrected, histogram) in [(true, report.measurements.corrected), (false, report.measurements.uncorrected)] {
                let total = Double(histogram.totalCount)
                let points = histogram.percentileDistribution().map { row -> (x: Double, y: Double) in
                    let x = row.percentile >= 100 ? log10(max(total, 10)) : log10(1 / (1 - row.percentile / 100))
                    return (x, Double(row.value) / 1e6)
                }
                xMax = max(xMax, (points.map(\.x).max() ?? 0).rounded(.up))
                series.append(.init(name: (corrected ? "corrected" : "uncorrected") + name, color: corrected ? color : "#7f7f7f",
                                    points: points, dashed: !corrected))
            }
        }
        let ticks = (0...Int(xMax)).map { k -> (Double, String) in
            if k == 0 { return (0, "0%") }
            if k == 1 { return (1, "90%") }
            return (Double(k), "99" + (k > 2 ? "." + String(repeating: "9", count: k - 2) : "") + "%")
        }
        let chart = SVGChart(
            title: "Latency by percentile", xLabel: "percentile", yLabel: "latency (ms)",
            series: series, xTicks: ticks, xRange: 0...xMax)
        return chart.render()
    }
}
