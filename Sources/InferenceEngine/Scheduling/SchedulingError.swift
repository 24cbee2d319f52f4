/// Why a scheduled request produced no outputs.
public enum SchedulingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The queue held `maxQueueSize` requests already.
    case queueFull(Int)
    /// The request's deadline passed before it ran (it was not executed) or while it ran.
    case deadlineExceeded
    /// The request was cancelled while queued.
    case cancelled
    /// The request does not fit the model or the policy (message says why).
    case invalidRequest(String)
    /// The model failed on a batch that contained the request.
    case inference(InferenceError)
    /// The scheduler was shut down.
    case shutDown

    public var description: String {
        switch self {
        case .queueFull(let size): "the model's queue is full (\(size) requests waiting)"
        case .deadlineExceeded: "deadline exceeded before the request ran"
        case .cancelled: "request cancelled"
        case .invalidRequest(let message): message
        case .inference(let error): error.description
        case .shutDown: "the server is shutting down"
        }
    }
}
