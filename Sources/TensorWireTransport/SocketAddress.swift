import CLinuxShims

/// A host and port as the transport uses them: an IPv4 or IPv6 literal (or a host name for
/// clients) plus a TCP port.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Whether `host` is an IPv4 or IPv6 literal rather than a DNS name.
    public var isIPLiteral: Bool { Self.isIPLiteral(host) }

    /// `host:port`, with IPv6 literals bracketed.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func isIPLiteral(_ host: String) -> Bool { tw_is_ip_literal(host) == 1 }
}
