/// Why a ``Model/run(_:)`` request failed.
public enum InferenceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The request does not fit the model: unknown or missing input, wrong element type,
    /// wrong rank or dimension, or a shape that only turns out inconsistent inside the graph.
    /// The message names the input (or node) and the expected versus received shape.
    case invalidInput(String)
    /// An engine bug or an unsupported runtime situation; not the client's fault.
    case internalFailure(String)

    /// `invalid input: <message>` or `internal failure: <message>`.
    public var description: String {
        switch self {
        case .invalidInput(let message): "invalid input: \(message)"
        case .internalFailure(let message): "internal failure: \(message)"
        }
    }
}
