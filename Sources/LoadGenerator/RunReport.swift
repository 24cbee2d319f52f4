/// Everything known about one load level once it has run.
public struct RunReport: @unchecked Sendable {
    public var settings: RunSettings
    public var plan: RunPlan
    /// Number of connections the level ran on.
    public var connectionCount: Int
    public var measurements: RunMeasurements
    /// Every window, warm-up included, in order.
    public var windows: [WindowSummary]
    /// CPU time the whole load-generator process used during the measured part (ns).
    public var cpuNanoseconds: UInt64
    /// Wall time over which `cpuNanoseconds` was measured (ns).
    public var cpuWallNanoseconds: UInt64
    /// Whether the stability criteria were met (nil when none were asked for).
    public var stable: Bool?
    /// Warnings about the validity of the numbers (client could not keep up, ...).
    public var warnings: [String]

    public var mode: LoadMode { settings.mode }
    /// Cores' worth of CPU the load generator used (1.0 = one core busy).
    public var cpuCores: Double { cpuWallNanoseconds > 0 ? Double(cpuNanoseconds) / Double(cpuWallNanoseconds) : 0 }
    /// The load generator's CPU time per request sent, ns.
    public var cpuPerRequest: Double {
        measurements.counts.sent > 0 ? Double(cpuNanoseconds) / Double(measurements.counts.sent) : 0
    }
}
