import Foundation
import Testing
@testable import LoadGenerator
import TensorWireClient
import TensorWireProtocol

/// Tests that measure time or run processes run one at a time: on a 2-core machine, one test's
/// processes would otherwise take the CPU from another's timing.
@Suite(.serialized) struct TimingSensitiveTests {}

extension TimingSensitiveTests {
/// The load generator against servers whose latency is known: it must report that latency, and
/// corrected latencies must show a server stall that uncorrected ones hide.
@Suite struct AccuracyTests {
    /// A known service time large enough that loopback TLS, the client's own hops (a few hundred
    /// microseconds in a debug build) and scheduling hiccups of a loaded 2-core machine (a few
    /// milliseconds in the tail) stay inside the 5% tolerance.
    static let delay: Duration = LoadGenTestEnvironment.underThreadSanitizer ? .milliseconds(100) : .milliseconds(50)
    static let tolerance = 0.05

    let inputs = InputSource(sets: [[try! WireTensor(name: "x", shape: [1, 4], floats: [1, 2, 3, 4])]])

    func clients(_ port: Int, count: Int) throws -> [TensorWireClient] {
        try (0..<count).map { _ in try TensorWireClient(configuration: LoadGenTestEnvironment.clientConfiguration(port: port)) }
    }

    /// Relative error of `measured` against `truth`, as a failure message when over tolerance.
    func check(_ measured: UInt64, against truth: UInt64, _ what: String) -> String? {
        let error = abs(Double(measured) - Double(truth)) / Double(truth)
        guard error > Self.tolerance else { return nil }
        return "\(what): measured \(formatNanoseconds(measured)), truth \(formatNanoseconds(truth)) (\(Int((error * 100).rounded()))% off)"
    }

    /// Runs `attempt` up to five times until it reports no failures. Other work on a shared
    /// 2-core machine can only add latency (a descheduled client thread), never remove it, so one
    /// clean attempt shows the tool measures right; the failures of the last attempt are issues.
    func accurateWithinRetries(_ name: String, _ attempt: () throws -> [String]) rethrows {
        var failures: [String] = []
        for number in 1...5 {
            failures = try attempt()
            if failures.isEmpty { return }
            print("\(name): attempt \(number) disturbed: \(failures.joined(separator: "; "))")
        }
        for failure in failures { Issue.record(Comment(rawValue: "\(name): \(failure)")) }
    }

    @Test func openLoopReportsTheKnownDelay() throws {
        try accurateWithinRetries("open loop") {
            let server = try DelayServer(delay: Self.delay)
            defer { server.stop() }
            let clients = try clients(server.port, count: 2)
            let settings = RunSettings(model: "m", mode: .openLoop(rate: 200), threads: 2, timeout: .seconds(5))
            let report = LoadSession.run(clients: clients, inputs: inputs, settings: settings,
                                         plan: RunPlan(warmup: .milliseconds(300), duration: .seconds(2), window: .milliseconds(500)))
            let m = report.measurements
            let truth = nanoseconds(Self.delay)
            // The truth is what the server applied, measured at the server (same clock, same
            // process); the nominal delay is checked too, at the median.
            let served = server.serviceTimes(receivedFrom: m.measureFrom)
            print("open loop, known delay \(formatNanoseconds(truth)); server-side truth p50 \(formatNanoseconds(served.value(atPercentile: 50))) "
                  + "p90 \(formatNanoseconds(served.value(atPercentile: 90))) p99 \(formatNanoseconds(served.value(atPercentile: 99)))\n"
                  + SummaryText.summary(report))
            #expect(m.counts.isBalanced && m.counts.errors == 0)
            #expect(m.counts.sent >= 380 && m.counts.sent <= 420)  // 200/s for 2 s
            #expect(abs(m.sendRate - 200) / 200 < 0.05)
            #expect(m.corrected.min >= truth)  // never faster than the server's known delay
            var failures: [String] = []
            for p in [50.0, 90, 99] {
                failures += [check(m.corrected.value(atPercentile: p), against: served.value(atPercentile: p), "corrected p\(p)"),
                             check(m.uncorrected.value(atPercentile: p), against: served.value(atPercentile: p), "uncorrected p\(p)")].compactMap { $0 }
            }
            failures += [check(m.corrected.value(atPercentile: 50), against: truth, "corrected p50 against the nominal delay")].compactMap { $0 }
            return failures
        }
    }

    @Test func closedLoopReportsTheKnownDelay() throws {
        try accurateWithinRetries("closed loop") {
            let server = try DelayServer(delay: Self.delay)
            defer { server.stop() }
            let clients = try clients(server.port, count: 2)
            let settings = RunSettings(model: "m", mode: .closedLoop(concurrency: 4), timeout: .seconds(5))
            let report = LoadSession.run(clients: clients, inputs: inputs, settings: settings,
                                         plan: RunPlan(warmup: .milliseconds(200), duration: .milliseconds(1500), window: .milliseconds(500)))
            let m = report.measurements
            let truth = nanoseconds(Self.delay)
            let served = server.serviceTimes(receivedFrom: m.measureFrom)
            print("closed loop, known delay \(formatNanoseconds(truth)); server-side truth p50 \(formatNanoseconds(served.value(atPercentile: 50))) "
                  + "p90 \(formatNanoseconds(served.value(atPercentile: 90))) p99 \(formatNanoseconds(served.value(atPercentile: 99)))\n"
                  + SummaryText.summary(report))
            #expect(m.counts.isBalanced && m.counts.errors == 0)
            var failures = [50.0, 90, 99].compactMap { p in
                check(m.corrected.value(atPercentile: p), against: served.value(atPercentile: p), "p\(p)")
            }
            failures += [check(m.corrected.value(atPercentile: 50), against: truth, "p50 against the nominal delay")].compactMap { $0 }
            // Four slots each completing one call per delay.
            let expectedThroughput = 4 / (Double(truth) / 1e9)
            if abs(m.throughput - expectedThroughput) / expectedThroughput > 0.10 { failures.append("throughput \(m.throughput)") }
            return failures
        }
    }

    /// wrk2's situation: one call in flight per connection, so the stall holds back the sends
    /// behind it. Corrected latencies (from the intended times) show the stall; uncorrected ones
    /// (from the late actual sends) hide it, apart from the few calls caught in flight.
    @Test func correctedLatencyShowsAStallThatUncorrectedHides() throws {
        let delay: Duration = .milliseconds(5)
        let pause: Duration = .milliseconds(500)
        let server = try DelayServer(delay: delay, stallAfterRequests: 150, stallPause: pause)
        defer { server.stop() }
        let clients = try clients(server.port, count: 2)
        let settings = RunSettings(model: "m", mode: .openLoop(rate: 200), threads: 1, maxInFlightPerConnection: 1, timeout: .seconds(5))
        let report = LoadSession.run(clients: clients, inputs: inputs, settings: settings,
                                     plan: RunPlan(warmup: .milliseconds(200), duration: .seconds(3), window: .milliseconds(500)))
        let m = report.measurements
        print("stall of 500 ms, one call in flight per connection:\n" + SummaryText.summary(report))
        // LOADGEN_REPORT_DIR=dir keeps this run's HTML report (docs and screenshots use it).
        if let directory = ProcessInfo.processInfo.environment["LOADGEN_REPORT_DIR"] {
            try writeTextFile(directory + "/stall-report.html", HTMLReport.render([report], title: "Server stall of 500 ms, wrk2-style client"))
        }
        #expect(server.stallWindow != nil)
        #expect(m.counts.isBalanced && m.counts.errors == 0)
        let pauseNs = nanoseconds(pause), delayNs = nanoseconds(delay)
        // Truth: the request that triggered the stall waited the whole pause; the one before it
        // on the other connection fell due at the stall's first instant and waited pause + delay.
        let correctedMax = m.corrected.max
        #expect(correctedMax >= pauseNs && Double(correctedMax) <= Double(pauseNs + delayNs) * (1 + Self.tolerance),
                "corrected max \(formatNanoseconds(correctedMax))")
        // Requests intended during the stall are about 1/6 of the run, spread from ~0 to the
        // pause: the top percent is well into the pause.
        #expect(m.corrected.value(atPercentile: 99) > pauseNs * 8 / 10, "corrected p99 \(formatNanoseconds(m.corrected.value(atPercentile: 99)))")
        #expect(m.corrected.value(atPercentile: 90) > 10 * delayNs)
        // Uncorrected: only the two calls in flight saw the stall (0.3% of the run); p99 is the
        // plain service time and hides it, though its max still shows one long call.
        #expect(m.uncorrected.value(atPercentile: 99) < 3 * delayNs, "uncorrected p99 \(formatNanoseconds(m.uncorrected.value(atPercentile: 99)))")
        #expect(m.uncorrected.max >= pauseNs * 9 / 10)
        #expect(m.corrected.value(atPercentile: 99) > 20 * m.uncorrected.value(atPercentile: 99))
        // The held-back sends are counted late and the summary says so.
        #expect(m.lateShare > 0.05)
        #expect(report.warnings.contains { $0.contains("COULD NOT KEEP UP") })
    }

    /// With room for many calls in flight, a stall does not hold back any send: the schedule
    /// keeps going, and both latencies show the stall (there is nothing to hide).
    @Test func slowResponsesNeverDelayTheNextSend() throws {
        let delay: Duration = .milliseconds(5)
        let pause: Duration = .milliseconds(500)
        let server = try DelayServer(delay: delay, stallAfterRequests: 150, stallPause: pause)
        defer { server.stop() }
        let clients = try clients(server.port, count: 2)
        let settings = RunSettings(model: "m", mode: .openLoop(rate: 200), threads: 1, timeout: .seconds(5))
        let report = LoadSession.run(clients: clients, inputs: inputs, settings: settings,
                                     plan: RunPlan(warmup: .milliseconds(200), duration: .seconds(2), window: .milliseconds(500)))
        let m = report.measurements
        print("stall of 500 ms, many calls in flight:\n" + SummaryText.summary(report))
        #expect(m.counts.isBalanced && m.counts.errors == 0)
        // Normally none is late; a loaded machine may delay a few.
        #expect(m.lateShare < 0.10, "late \(m.lateShare)")
        let pauseNs = nanoseconds(pause)
        #expect(m.uncorrected.value(atPercentile: 99) > pauseNs * 7 / 10)
        #expect(m.corrected.value(atPercentile: 99) > pauseNs * 7 / 10)
        #expect(Double(m.corrected.max) <= Double(pauseNs + nanoseconds(delay)) * 1.15)
    }

    @Test func requestLimitAndTimeoutsAreAccountedFor() throws {
        // A server slower than the deadline: every call times out, and each is counted once.
        let server = try DelayServer(delay: .milliseconds(300))
        defer { server.stop() }
        let clients = try clients(server.port, count: 1)
        let settings = RunSettings(model: "m", mode: .openLoop(rate: 100), timeout: .milliseconds(50), requestLimit: 20)
        let report = LoadSession.run(clients: clients, inputs: inputs, settings: settings,
                                     plan: RunPlan(warmup: .zero, duration: nil, window: .milliseconds(500)))
        let c = report.measurements.counts
        #expect(c.sent == 20)
        #expect(c.timedOut == 20 && c.ok == 0 && c.failed == 0)
        #expect(c.isBalanced)
        #expect(c.errorsByStatusName == ["DEADLINE_EXCEEDED": 20])
    }
}
}
