/// A threshold evaluated against a run.
public struct ThresholdOutcome: Sendable {
    public var threshold: Threshold
    public var actual: Double
    public var passed: Bool

    public init(threshold: Threshold, report: RunReport) {
        self.threshold = threshold
        actual = threshold.actual(in: report)
        passed = threshold.holds(for: report)
    }
}
