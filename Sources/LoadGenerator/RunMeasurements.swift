/// What one load level measured over its measured interval (after the warm-up).
public struct RunMeasurements: @unchecked Sendable {
    /// Outcomes of the requests intended in the measured interval.
    public var counts: RequestCounts
    /// Latency from each request's intended send instant to its completion (ns).
    public var corrected: HdrHistogram
    /// Latency from each request's actual send to its completion (ns).
    public var uncorrected: HdrHistogram
    /// Length of the measured interval (ns).
    public var measuredNanoseconds: UInt64
    /// Monotonic instant (ns, ``Clock/now()``) the measured interval began: requests intended
    /// from then on are in the results.
    public var measureFrom: UInt64 = 0
    /// False if calls were still outstanding after their deadline plus a grace second (a client
    /// bug; the accounting line then shows the gap).
    public var drained: Bool

    public var measuredSeconds: Double { Double(measuredNanoseconds) / 1e9 }
    /// Requests sent per second.
    public var sendRate: Double { measuredSeconds > 0 ? Double(counts.sent) / measuredSeconds : 0 }
    /// Successful requests per second.
    public var throughput: Double { measuredSeconds > 0 ? Double(counts.ok) / measuredSeconds : 0 }
    /// Share (0...1) of requests sent later than the threshold.
    public var lateShare: Double { counts.sent > 0 ? Double(counts.late) / Double(counts.sent) : 0 }
}

/// The completions of one reporting window (normally a second).
public struct WindowStatistics: @unchecked Sendable {
    public var counts: RequestCounts
    /// Corrected latencies of the window; owned by the runner and reused by its next harvest.
    public var corrected: HdrHistogram
    public var uncorrected: HdrHistogram
}

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
