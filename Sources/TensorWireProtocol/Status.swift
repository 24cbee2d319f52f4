/// A status code plus a human-readable message; the stream-level error type.
///
/// Thrown by REQUEST/RESPONSE head and body parsers: such errors are answered with a RESPONSE
/// carrying this status on the same stream, and the connection survives.
public struct Status: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public static let ok = Status(.ok)

    /// Shorthand for the most common decode failure.
    static func invalid(_ message: String) -> Status { Status(.invalidArgument, message) }

    public var description: String { message.isEmpty ? code.name : "\(code.name): \(message)" }
}
