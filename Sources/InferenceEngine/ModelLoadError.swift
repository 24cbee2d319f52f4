/// Why a model could not be loaded. The model is never partially loaded.
///
/// Messages name the offending operator, node, input or protobuf field, e.g.
/// `unsupported operator 'Conv' (node 'conv1')`.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    /// Human-readable reason, suitable for returning to an operator or client.
    public var message: String

    public init(_ message: String) { self.message = message }
    public init(message: String) { self.message = message }

    public var description: String { message }
}
