/// One request in a ``BatchScheduler``: validated inputs, where it stands, and who to tell.
///
/// Returned by ``BatchScheduler/enqueue(_:priority:timeoutNanoseconds:completion:)`` as the
/// handle for ``BatchScheduler/cancel(_:)``. Mutable state is guarded by the pool's lock.
public final class ScheduledRequest: @unchecked Sendable {
    enum State { case queued, running, finished }

    /// Inputs in the model's input order.
    let inputs: [Tensor]
    /// Size of the first (batch) dimension.
    let rows: Int
    /// Every input's dimensions except the batch axis: only requests that agree are batched together.
    let signature: [[Int]]
    /// Size of the padded (variable) dimension, when the policy pads; 0 otherwise.
    let length: Int
    /// 0-based priority level (0 = highest).
    let priority: Int
    /// Monotonic ns after which it must not start; 0 = none.
    let deadline: UInt64
    let enqueuedAt: UInt64
    let completion: @Sendable (Result<[Tensor], SchedulingError>) -> Void
    var state = State.queued

    init(inputs: [Tensor], rows: Int, signature: [[Int]], length: Int = 0, priority: Int, deadline: UInt64, enqueuedAt: UInt64,
         completion: @escaping @Sendable (Result<[Tensor], SchedulingError>) -> Void) {
        self.inputs = inputs
        self.rows = rows
        self.signature = signature
        self.length = length
        self.priority = priority
        self.deadline = deadline
        self.enqueuedAt = enqueuedAt
        self.completion = completion
    }
}
