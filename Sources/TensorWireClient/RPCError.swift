import TensorWireProtocol

/// The error every client call throws: a status code from the server or from the client itself
/// (deadline, connection loss), a human-readable message, and what caused it where known.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    /// The gRPC-style status code, e.g. `.invalidArgument` or `.deadlineExceeded`.
    public var code: StatusCode
    /// What went wrong, as the server or client described it.
    public var message: String
    /// Metadata the server sent with the failed response.
    public var metadata: Metadata
    /// A lower-level error that led to this one (TLS or protocol), if any.
    public var cause: (any Error & Sendable)?

    public init(code: StatusCode, message: String, metadata: Metadata = [:], cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.cause = cause
    }

    init(_ status: Status, metadata: Metadata = [:]) {
        self.init(code: status.code, message: status.message, metadata: metadata)
    }

    public var description: String {
        message.isEmpty ? code.name : "\(code.name): \(message)"
    }
}
