/// The completions of one reporting window (normally a second).
public struct WindowStatistics: @unchecked Sendable {
    public var counts: RequestCounts
    /// Corrected latencies of the window; owned by the runner and reused by its next harvest.
    public var corrected: HdrHistogram
    public var uncorrected: HdrHistogram
}
