import Testing
@testable import LoadGenerator

@Suite struct ThresholdTests {
    @Test func parsesLatencyThresholdsWithUnits() throws {
        let t = try Threshold(parsing: "p99<500us")
        #expect(t.metric == .percentile(99, corrected: true))
        #expect(t.comparison == .less)
        #expect(t.bound == 500_000)
        #expect(try Threshold(parsing: "p(99.9) <= 2ms").bound == 2_000_000)
        #expect(try Threshold(parsing: "p(99.9)<=2ms").metric == .percentile(99.9, corrected: true))
        #expect(try Threshold(parsing: "max<1s").bound == 1e9)
        #expect(try Threshold(parsing: "p50<10").bound == 10_000_000)  // milliseconds by default, as in k6
        #expect(try Threshold(parsing: "uncorrected.p99<3ms").metric == .percentile(99, corrected: false))
        #expect(try Threshold(parsing: "mean<100ns").bound == 100)
    }

    @Test func parsesCountsSharesAndRates() throws {
        let errors = try Threshold(parsing: "errors==0")
        #expect(errors.metric == .errors && errors.comparison == .equal && errors.bound == 0)
        #expect(try Threshold(parsing: "late<1%").metric == .late)
        #expect(try Threshold(parsing: "error_rate<=0.5%").bound == 0.5)
        #expect(try Threshold(parsing: "rate>=19000").comparison == .greaterOrEqual)
        #expect(try Threshold(parsing: "timeouts!=3").comparison == .notEqual)
    }

    @Test func rejectsMalformedExpressions() {
        for text in ["p99", "p99<", "p99<abc", "foo<1", "p101<1ms", "errors<1%", "<5", "p99~5ms"] {
            #expect(throws: UsageError.self, "\(text)") { try Threshold(parsing: text) }
        }
    }

    @Test func evaluatesAgainstAReport() throws {
        // Synthetic report: corrected latencies 1..1000 us, 1 UNAVAILABLE and 2 timeouts, 5 late of 1003.
        let report = syntheticReport()
        #expect(try Threshold(parsing: "p99<=1ms").holds(for: report))
        #expect(try !Threshold(parsing: "p99<500us").holds(for: report))
        #expect(try Threshold(parsing: "p50<501us").holds(for: report))
        #expect(try !Threshold(parsing: "errors==0").holds(for: report))
        #expect(try Threshold(parsing: "errors==3").holds(for: report))
        #expect(try Threshold(parsing: "timeouts==2").holds(for: report))
        #expect(try Threshold(parsing: "failed==1").holds(for: report))
        #expect(try Threshold(parsing: "late<1%").holds(for: report))
        #expect(try Threshold(parsing: "uncorrected.max<=500us").holds(for: report))
        #expect(try Threshold(parsing: "rate>1000").holds(for: report))
        #expect(Threshold.exitCode == 99)
    }
}
