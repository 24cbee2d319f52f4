/// A window summarised to the numbers the live line, the stability check and the latency-over
/// time plot need.
public struct WindowSummary: Sendable, Codable, Equatable {
    /// Seconds since the start of the schedule, at the end of the window.
    public var elapsed: Double
    public var seconds: Double
    public var sent: UInt64
    public var completed: UInt64
    public var errors: UInt64
    public var late: UInt64
    /// Completions per second.
    public var rate: Double
    /// Corrected latency percentiles of the window, ns.
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var max: UInt64
    /// Uncorrected p99 of the window, ns.
    public var uncorrectedP99: UInt64
    /// Whether the window lies in the warm-up.
    public var warmup: Bool

    public init(_ window: WindowStatistics, elapsed: Double, seconds: Double, warmup: Bool) {
        self.elapsed = elapsed
        self.seconds = seconds
        sent = window.counts.sent
        completed = window.counts.completed
        errors = window.counts.errors
        late = window.counts.late
        rate = seconds > 0 ? Double(window.counts.completed) / seconds : 0
        p50 = window.corrected.value(atPercentile: 50)
        p90 = window.corrected.value(atPercentile: 90)
        p99 = window.corrected.value(atPercentile: 99)
        max = window.corrected.max
        uncorrectedP99 = window.uncorrected.value(atPercentile: 99)
        self.warmup = warmup
    }
}
