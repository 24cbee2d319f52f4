import TensorWireClient

/// A series of load levels, perf_analyzer style: each step runs until its windows are stable
/// (or its trial limit), and the sweep stops early once p99 passes a latency limit.
public struct Sweep: Sendable {
    public var steps: [LoadMode]
    public var stability: StabilityCriteria
    /// Stop after the first step whose corrected p99 exceeds this (ns).
    public var latencyLimitNanoseconds: UInt64?

    public init(steps: [LoadMode], stability: StabilityCriteria = StabilityCriteria(), latencyLimitNanoseconds: UInt64? = nil) {
        self.steps = steps
        self.stability = stability
        self.latencyLimitNanoseconds = latencyLimitNanoseconds
    }

    /// A range `START:END:STEP` (STEP defaults to 1), inclusive of END.
    public static func parseRange(_ text: String) throws(UsageError) -> [Double] {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard (2...3).contains(parts.count), let start = parts[0], let end = parts[1] else {
            throw UsageError("range '\(text)' is not START:END[:STEP]")
        }
        let step = parts.count == 3 ? parts[2] : 1
        guard let step, step > 0, start > 0, end >= start else {
            throw UsageError("range '\(text)' needs 0 < START <= END and STEP > 0")
        }
        var values: [Double] = []
        var index = 0.0
        while start + index * step <= end * (1 + 1e-12) {
            values.append(start + index * step)
            index += 1
            if values.count > 10_000 { throw UsageError("range '\(text)' has more than 10000 steps") }
        }
        return values
    }

    /// Runs every step on `clients`; `settings.mode` is replaced by each step's mode.
    public func run(
        clients: [TensorWireClient], inputs: InputSource, settings: RunSettings, warmup: Duration, window: Duration,
        onStepStart: (LoadMode) -> Void = { _ in }, onWindow: (WindowSummary) -> Void = { _ in },
        onStepEnd: (RunReport) -> Void = { _ in }
    ) -> [RunReport] {
        var reports: [RunReport] = []
        for mode in steps {
            var stepSettings = settings
            stepSettings.mode = mode
            onStepStart(mode)
            let report = LoadSession.run(
                clients: clients, inputs: inputs, settings: stepSettings,
                plan: RunPlan(warmup: warmup, duration: nil, window: window, stability: stability), onWindow: onWindow)
            reports.append(report)
            onStepEnd(report)
            if let limit = latencyLimitNanoseconds, report.measurements.corrected.value(atPercentile: 99) > limit { break }
        }
        return reports
    }
}
