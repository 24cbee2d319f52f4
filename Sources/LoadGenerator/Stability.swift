/// When a load level has settled, perf_analyzer style: the last `windows` measurement windows
/// agree, each within `tolerance` of their mean, on throughput and on p99 latency.
public struct StabilityCriteria: Sendable, Equatable {
    /// How many of the latest windows must agree.
    public var windows: Int
    /// Allowed relative deviation from the windows' mean (0.1 = 10%).
    public var tolerance: Double
    /// Measurement windows after which a step ends even if it never settled.
    public var maxTrials: Int

    public init(windows: Int = 3, tolerance: Double = 0.10, maxTrials: Int = 10) {
        self.windows = max(1, windows)
        self.tolerance = tolerance
        self.maxTrials = max(self.windows, maxTrials)
    }

    /// Whether the last ``windows`` of `history` (measured windows only) agree.
    public func isStable(_ history: [WindowSummary]) -> Bool {
        let measured = history.filter { !$0.warmup }
        guard measured.count >= windows else { return false }
        let recent = measured.suffix(windows)
        return Self.agree(recent.map(\.rate), tolerance) && Self.agree(recent.map { Double($0.p99) }, tolerance)
    }

    static func agree(_ values: [Double], _ tolerance: Double) -> Bool {
        let mean = values.reduce(0, +) / Double(values.count)
        guard mean > 0 else { return values.allSatisfy { $0 == 0 } }
        return values.allSatisfy { abs($0 - mean) <= tolerance * mean }
    }
}
