/// A fatal protocol violation: the side that detects it sends GOAWAY(code, message) and closes.
public struct ConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String = "") {
        self.code = code
        self.message = message
    }

    /// Promotes a parse failure inside a connection-level frame (HELLO, GOAWAY, ...) to a
    /// connection error with the same code.
    init(_ status: Status) { self.init(status.code, status.message) }

    /// The GOAWAY frame that reports this error.
    public func goAway(lastStreamID: UInt32) -> GoAway {
        GoAway(lastStreamID: lastStreamID, code: code, message: message)
    }

    public var description: String { message.isEmpty ? code.name : "\(code.name): \(message)" }
}
