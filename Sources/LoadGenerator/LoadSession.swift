import TensorWireClient

/// Runs one load level with live windows: the glue between a ``LoadRunner``, the clock and the
/// reporting. Used by the executable, the sweeps and the tests.
public enum LoadSession {
    /// Share of late sends above which the results carry a "could not keep up" warning
    /// (perf_analyzer's threshold).
    public static let lateWarningShare = 0.01
    /// Share of the machine's cores the load generator may use before its numbers are suspect.
    public static let cpuWarningShare = 0.75

    /// Runs `settings.mode` on `clients` as `plan` says, calling `onWindow` (on the calling
    /// thread) after every window.
    public static func run(
        clients: [TensorWireClient], inputs: InputSource, settings: RunSettings, plan: RunPlan,
        onWindow: (WindowSummary) -> Void = { _ in }
    ) -> RunReport {
        precondition(plan.duration != nil || plan.stability != nil || settings.requestLimit != nil,
                     "a run needs a duration, stability criteria or a request limit to end")
        let runner = LoadRunner(clients: clients, inputs: inputs, settings: settings)
        runner.start(warmup: plan.warmup)
        let windowLength = max(nanoseconds(plan.window), 10_000_000)
        let measureFrom = runner.measureFrom
        let end = plan.duration.map { measureFrom + nanoseconds($0) }
        var cpuStart: UInt64?
        var wallStart: UInt64 = 0
        var windows: [WindowSummary] = []
        var windowStart = runner.startedAt
        var stable: Bool? = plan.stability == nil ? nil : false
        var measuredWindows = 0

        func closeWindow(at now: UInt64) {
            let statistics = runner.harvestWindow()
            let seconds = Double(now - windowStart) / 1e9
            // A window belongs to the warm-up when most of it lies before the measured part.
            let summary = WindowSummary(statistics, elapsed: Double(now - runner.startedAt) / 1e9, seconds: seconds,
                                        warmup: windowStart + (now - windowStart) / 2 < measureFrom)
            windows.append(summary)
            if !summary.warmup { measuredWindows += 1 }
            windowStart = now
            onWindow(summary)
        }

        if plan.warmup == .zero {
            // Sampled before the first send so that no measured work is missed.
            cpuStart = Clock.processCPUTime()
            wallStart = Clock.now()
        }
        while true {
            var wake = windowStart + windowLength
            if cpuStart == nil { wake = min(wake, measureFrom) }
            if let end { wake = min(wake, end) }
            while Clock.now() < wake && !runner.sendingFinished {
                Clock.sleep(until: min(wake, Clock.now() + 5_000_000))
            }
            let now = Clock.now()
            if cpuStart == nil && now >= measureFrom {
                cpuStart = Clock.processCPUTime()
                wallStart = now
            }
            if let end, now >= end { break }
            if runner.sendingFinished { break }
            if now >= windowStart + windowLength {
                closeWindow(at: now)
                if let criteria = plan.stability {
                    if criteria.isStable(windows) { stable = true; break }
                    if measuredWindows >= criteria.maxTrials { break }
                }
            }
        }
        let measurements = runner.stop()
        let now = Clock.now()
        // The last, partial window (the end of the run and the drain) is shown unless it is too
        // short for its rate to mean anything.
        if now > windowStart + windowLength / 10 { closeWindow(at: now) }
        let cpuEnd = Clock.processCPUTime()
        let cpu = cpuEnd - (cpuStart ?? cpuEnd)
        let wall = cpuStart == nil ? 0 : now - wallStart
        var report = RunReport(settings: settings, plan: plan, connectionCount: clients.count, measurements: measurements, windows: windows,
                               cpuNanoseconds: cpu, cpuWallNanoseconds: wall, stable: stable, warnings: [])
        report.warnings = warnings(for: report)
        return report
    }

    /// Why the numbers of `report` might not mean what they seem to.
    public static func warnings(for report: RunReport) -> [String] {
        var warnings: [String] = []
        let m = report.measurements
        if m.counts.sent > 0 && m.lateShare > lateWarningShare {
            warnings.append(
                "COULD NOT KEEP UP: \(percent(m.lateShare)) of requests were sent more than "
                + "\(formatNanoseconds(report.settings.lateThresholdNanoseconds)) after their intended time. "
                + "Corrected latencies still count from the intended times, but the server saw less load than asked "
                + "(more --threads/--connections, or a lower --rate).")
        }
        if let target = report.mode.targetRate, m.counts.sent > 0, m.sendRate < 0.95 * target {
            warnings.append("ACHIEVED RATE \(format2(m.sendRate))/s IS BELOW THE TARGET \(formatRate(target))/s.")
        }
        let cores = Double(Clock.onlineCPUs)
        if report.cpuCores > cpuWarningShare * cores {
            warnings.append(
                "LOAD GENERATOR CPU-BOUND: it used \(format2(report.cpuCores)) of \(Int(cores)) cores; "
                + "part of the latency may be the client's, not the server's. Run it on another machine or lower the load.")
        }
        if !m.drained {
            warnings.append("Some calls never completed (client bug?): sent != completed.")
        }
        return warnings
    }
}
