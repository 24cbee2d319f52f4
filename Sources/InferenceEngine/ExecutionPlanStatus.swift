/// Whether a model runs some input shapes through a per-shape execution plan (see
/// ``ModelOptions/plannedExecution``).
public enum ExecutionPlanStatus: Sendable, Equatable {
    /// Planning is switched off for this model.
    case disabled
    /// No run with these shapes yet (the first one makes the plan).
    case notYetPlanned
    /// Runs with these shapes use a plan of `nodes` kernels and an arena of `arenaBytes`.
    case planned(nodes: Int, arenaBytes: Int)
    /// These shapes run on the general executor, for this reason (an operator without a
    /// planned form, or an output shape that depends on input values).
    case unplanned(reason: String)
}
