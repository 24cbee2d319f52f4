/// Why a model could not be loaded. The model is never partially loaded.
///
/// Messages name the offending operator, node, input or protobuf field, e.g.
/// `unsupported operator 'Conv' (node 'conv1')`.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    /// Human-readable reason, suitable for returning to an operator or client.
    public var message: String

    /// Creates an error with the given reason.
    public init(_ message: String) { self.message = message }
    /// Creates an error with the given reason (labelled form).
    public init(message: String) { self.message = message }

    /// The ``message``, unchanged, so `"\(error)"` prints just the reason.
    public var description: String { message }
}
