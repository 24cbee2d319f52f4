/// Where one node of a per-shape execution plan spends its time (see ``Model/profile(_:runs:)``).
public struct NodeTiming: Sendable, Equatable {
    /// The node's name, as in ``PlannedNode/name`` (a fused node lists the fused operators).
    public let name: String
    /// The operator or fused kernel, as in ``PlannedNode/opType``.
    public let opType: String
    /// Mean wall time of the node per run, in microseconds.
    public let microsecondsPerRun: Double
}
