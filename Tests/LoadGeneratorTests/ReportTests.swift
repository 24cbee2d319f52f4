import Foundation
import Testing
@testable import LoadGenerator

@Suite struct ReportTests {
    @Test func hgrmMatchesTheHdrHistogramTextFormat() {
        let h = HdrHistogram()
        for v in UInt64(1)...10_000 { h.record(v * 1000) }  // 1..10000 us
        let text = HistogramLog.render(h, scale: 1e6)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "       Value     Percentile TotalCount 1/(1-Percentile)")
        #expect(lines[1] == "")
        #expect(lines[2] == "       0.001 0.000000000000          1           1.00")
        #expect(lines[3] == "       1.000 0.100000000000       1000           1.11")
        #expect(lines.contains("       5.001 0.500000000000       5001           2.00"))
        let last = lines.last { $0.hasPrefix(" ") && !$0.hasPrefix("#") }!
        #expect(last == "      10.000 1.000000000000      10000")
        #expect(text.contains("#[Mean    =        5.00") && text.contains(", StdDeviation   =        2.88"))
        #expect(text.contains("#[Max     =       10.000, Total count    =        10000]"))
        #expect(text.contains("#[Buckets =           32, SubBuckets     =         2048]"))
        // Every data row has the plotters' four columns (three on the 100% row).
        for line in lines.dropFirst(2) where !line.isEmpty && !line.hasPrefix("#") {
            let columns = line.split(separator: " ")
            #expect(columns.count == 4 || (columns.count == 3 && columns[1] == "1.000000000000"), "\(line)")
        }
    }

    @Test func csvHasPerfAnalyzerColumns() {
        let csv = CSVReport.render([syntheticReport(mode: .closedLoop(concurrency: 4)), syntheticReport(mode: .closedLoop(concurrency: 8))])
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
            + "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,"))
        let header = lines[0].split(separator: ",")
        let row = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(row.count == header.count)
        #expect(row[0] == "4" && lines[2].hasPrefix("8,"))
        #expect(row[1] == "1000.00")  // 1000 ok in 1 s
        #expect(row[header.firstIndex(of: "p50 latency")!] == "500")  // us
        #expect(row[header.firstIndex(of: "p99 latency")!] == "990")
        let open = CSVReport.render([syntheticReport(mode: .openLoop(rate: 2500))])
        #expect(open.hasPrefix("Request Rate,") && open.split(separator: "\n")[1].hasPrefix("2500,"))
    }

    @Test func jsonIsValidAndComplete() throws {
        let report = syntheticReport()
        let outcome = ThresholdOutcome(threshold: try Threshold(parsing: "errors==0"), report: report)
        let text = JSONReport.render([report], thresholds: [outcome])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(root["model"] as? String == "credit_default")
        #expect(root["passed"] as? Bool == false)
        let step = try #require((root["steps"] as? [[String: Any]])?.first)
        #expect(step["mode"] as? String == "open")
        #expect(step["sent"] as? Int == 1003 && step["ok"] as? Int == 1000)
        #expect(step["failed"] as? Int == 1 && step["timed_out"] as? Int == 2)
        #expect(step["accounted"] as? Bool == true)
        #expect((step["errors_by_status"] as? [String: Int]) == ["UNAVAILABLE": 1, "DEADLINE_EXCEEDED": 2])
        let latency = try #require(step["latency_ns"] as? [String: [String: Any]])
        #expect(latency["corrected"]?["p50"] as? Int == Int(report.measurements.corrected.value(atPercentile: 50)))
        #expect(latency["corrected"]?["max"] as? Int == 1_000_000)
        #expect(latency["uncorrected"]?["max"] as? Int == 500_000)
        for key in ["p90", "p99", "p99.9", "p99.99", "mean"] { #expect(latency["corrected"]?[key] != nil, "\(key)") }
        #expect((step["windows"] as? [Any])?.count == 3)
        #expect((step["cpu"] as? [String: Any])?["per_request_ns"] != nil)
    }

    @Test func htmlIsSelfContainedWithTwoPlots() {
        let html = HTMLReport.render([syntheticReport()], thresholds: [])
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        #expect(html.components(separatedBy: "</svg>").count - 1 == 2)
        #expect(html.contains("<polyline"))
        #expect(html.contains("Latency over time") && html.contains("Latency by percentile"))
        // Nothing loaded from anywhere: no scripts, no links, no URLs.
        for forbidden in ["http", "<script", "src=", "href=", "@import", "url("] {
            #expect(!html.lowercased().contains(forbidden), "\(forbidden)")
        }
    }

    @Test func summaryAccountsForEveryRequest() {
        let text = SummaryText.summary(syntheticReport())
        #expect(text.contains("sent 1003 = ok 1000 + failed 1 + timed out 2"))
        #expect(text.contains("p99.99"))
        #expect(text.contains("DEADLINE_EXCEEDED 2") && text.contains("UNAVAILABLE 1"))
    }

    @Test func liveLineShowsTheLastWindow() {
        let window = syntheticReport().windows[1]
        let line = SummaryText.liveLine(window, totalSent: 2006, totalCompleted: 2000, totalErrors: 6)
        #expect(line.hasPrefix("[   2.0s] sent 2006  done 2000  err 6  rate 1003/s  p50 "))
        #expect(line.contains("p99 ") && line.hasSuffix("(last 1.0s)"))
    }

    @Test func warnsWhenTheClientCouldNotKeepUp() {
        var report = syntheticReport()
        #expect(LoadSession.warnings(for: report).isEmpty)
        report.measurements.counts.late = 100  // ~10% late
        report.cpuNanoseconds = UInt64(Double(Clock.onlineCPUs) * 0.9 * 1e9)  // 90% of every core
        let warnings = LoadSession.warnings(for: report)
        #expect(warnings.contains { $0.contains("COULD NOT KEEP UP") })
        #expect(warnings.contains { $0.contains("CPU-BOUND") })
    }
}

@Suite struct SweepAndStabilityTests {
    @Test func parsesRanges() throws {
        #expect(try Sweep.parseRange("1000:5000:1000") == [1000, 2000, 3000, 4000, 5000])
        #expect(try Sweep.parseRange("1:4") == [1, 2, 3, 4])
        #expect(try Sweep.parseRange("1:2:0.5") == [1, 1.5, 2])
        for bad in ["5:1:1", "1", "a:b", "1:5:0", "0:5:1"] {
            #expect(throws: UsageError.self) { try Sweep.parseRange(bad) }
        }
    }

    func window(rate: Double, p99: UInt64, warmup: Bool = false) -> WindowSummary {
        var w = syntheticReport().windows[1]
        w.rate = rate
        w.p99 = p99
        w.warmup = warmup
        return w
    }

    @Test func stableWhenTheLastWindowsAgree() {
        let criteria = StabilityCriteria(windows: 3, tolerance: 0.1, maxTrials: 10)
        #expect(!criteria.isStable([window(rate: 100, p99: 1000), window(rate: 100, p99: 1000)]))
        #expect(criteria.isStable([window(rate: 50, p99: 9000), window(rate: 100, p99: 1000), window(rate: 105, p99: 1050), window(rate: 98, p99: 990)]))
        #expect(!criteria.isStable([window(rate: 100, p99: 1000), window(rate: 100, p99: 1000), window(rate: 100, p99: 2000)]))
        #expect(!criteria.isStable([window(rate: 100, p99: 1000), window(rate: 130, p99: 1000), window(rate: 100, p99: 1000)]))
        // Warm-up windows do not count.
        #expect(!criteria.isStable([window(rate: 100, p99: 1000, warmup: true), window(rate: 100, p99: 1000), window(rate: 100, p99: 1000)]))
    }
}
