/// How long one load level runs.
public struct RunPlan: Sendable {
    /// Requests intended in this first stretch are excluded from the results.
    public var warmup: Duration
    /// Length of the measured part; nil runs until the request limit or stability ends it.
    public var duration: Duration?
    /// Length of a live-output and stability window.
    public var window: Duration
    /// When set, the run ends once the windows agree (or after `maxTrials` windows).
    public var stability: StabilityCriteria?

    public init(warmup: Duration = .seconds(1), duration: Duration? = .seconds(10), window: Duration = .seconds(1),
                stability: StabilityCriteria? = nil) {
        self.warmup = warmup
        self.duration = duration
        self.window = window
        self.stability = stability
    }
}
