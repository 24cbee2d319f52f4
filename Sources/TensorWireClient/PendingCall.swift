import TensorWireProtocol
import TensorWireTransport

/// One request waiting for its response. Every field is guarded by the owning
/// ``ClientConnection``'s lock.
final class PendingCall: @unchecked Sendable {
    /// Decodes the response into the caller's typed result box; returns the call's failure, if any.
    typealias Deliver = (ResponseFrame) -> RPCError?

    var streamID: UInt32 = 0
    /// Monotonic nanoseconds after which the call fails with DEADLINE_EXCEEDED.
    let deadline: UInt64?
    let deliver: Deliver
    let isAsync: Bool

    var isRegistered = false
    var isCompleted = false
    var cancelRequested = false
    var error: RPCError?
    var continuation: CheckedContinuation<Void, Never>?
    /// Where a blocking caller sleeps; signalled when its response arrives or it must read.
    let wakeup: MonotonicCondition?

    init(deadline: UInt64?, isAsync: Bool, deliver: @escaping Deliver) {
        self.deadline = deadline
        self.isAsync = isAsync
        self.deliver = deliver
        self.wakeup = isAsync ? nil : MonotonicCondition()
    }
}

/// Holds a typed response decoded on whichever thread read it.
final class ResponseBox<Value>: @unchecked Sendable {
    var value: Value?
}
