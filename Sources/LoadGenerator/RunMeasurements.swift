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
