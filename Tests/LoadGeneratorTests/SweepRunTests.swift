import Testing
@testable import LoadGenerator
import TensorWireClient
import TensorWireProtocol

extension TimingSensitiveTests {
/// Sweeps against the delay server: each step runs until stable or its trial limit, and the
/// latency limit ends the sweep.
@Suite struct SweepRunTests {
    let inputs = InputSource(sets: [[try! WireTensor(name: "x", shape: [1, 1], floats: [1])]])
    let steps: [LoadMode] = [.closedLoop(concurrency: 1), .closedLoop(concurrency: 2), .closedLoop(concurrency: 4)]
    // Generous tolerance: 200 ms windows on a shared machine are noisy, and the point here is the
    // sweep's control flow, not the numbers (AccuracyTests checks those).
    let criteria = StabilityCriteria(windows: 3, tolerance: 0.5, maxTrials: 5)

    @Test func eachStepRunsUntilStableOrItsTrialLimit() throws {
        let server = try DelayServer(delay: .milliseconds(5))
        defer { server.stop() }
        let clients = try (0..<2).map { _ in try TensorWireClient(configuration: LoadGenTestEnvironment.clientConfiguration(port: server.port)) }
        var started: [LoadMode] = []
        let reports = Sweep(steps: steps, stability: criteria).run(
            clients: clients, inputs: inputs, settings: RunSettings(model: "m", mode: steps[0], timeout: .seconds(5)),
            warmup: .zero, window: .milliseconds(200), onStepStart: { started.append($0) })
        #expect(started == steps)
        #expect(reports.map(\.mode) == steps)
        for report in reports {
            let measured = report.windows.filter { !$0.warmup }.count
            #expect(measured >= 3 && measured <= criteria.maxTrials + 1, "\(measured) windows")
            #expect(report.stable != nil)
            #expect(report.measurements.counts.isBalanced && report.measurements.counts.errors == 0)
        }
        // 5 ms per call: throughput grows with the concurrency.
        #expect(reports[2].measurements.throughput > 2.5 * reports[0].measurements.throughput)
        let csv = CSVReport.render(reports).split(separator: "\n")
        #expect(csv.count == 4 && csv[1].hasPrefix("1,") && csv[3].hasPrefix("4,"))
    }

    @Test func latencyLimitStopsTheSweep() throws {
        let server = try DelayServer(delay: .milliseconds(5))
        defer { server.stop() }
        let clients = [try TensorWireClient(configuration: LoadGenTestEnvironment.clientConfiguration(port: server.port))]
        let reports = Sweep(steps: steps, stability: criteria, latencyLimitNanoseconds: 1_000_000).run(
            clients: clients, inputs: inputs, settings: RunSettings(model: "m", mode: steps[0], timeout: .seconds(5)),
            warmup: .zero, window: .milliseconds(200))
        // The first step's p99 (>= 5 ms) is over the 1 ms limit: nothing after it runs.
        #expect(reports.count == 1)
        #expect(reports[0].measurements.corrected.value(atPercentile: 99) > 1_000_000)
    }
}
}
