/// The frame type byte. Unknown values are a connection error in v1.
public enum FrameType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case hello = 1, helloAck, request, response, cancel, ping, pong, goAway

    /// Whether frames of this type must use stream 0 (otherwise they must use a nonzero stream).
    public var isConnectionLevel: Bool {
        switch self {
        case .hello, .helloAck, .ping, .pong, .goAway: true
        case .request, .response, .cancel: false
        }
    }

    /// Whether a client may send this type (otherwise only a server may, except PING/PONG/GOAWAY
    /// which both sides send).
    var sentByClient: Bool {
        switch self {
        case .hello, .request, .cancel, .ping, .pong, .goAway: true
        case .helloAck, .response: false
        }
    }

    var sentByServer: Bool {
        switch self {
        case .helloAck, .response, .ping, .pong, .goAway: true
        case .hello, .request, .cancel: false
        }
    }

    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .helloAck: "HELLO_ACK"
        case .request: "REQUEST"
        case .response: "RESPONSE"
        case .cancel: "CANCEL"
        case .ping: "PING"
        case .pong: "PONG"
        case .goAway: "GOAWAY"
        }
    }

    /// Parses the upper-case spec name ("HELLO_ACK").
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}
