import TensorWireTransport

/// Where and how a ``TensorWireClient`` connects.
public struct ClientConfiguration: Sendable {
    /// Server host name or IP literal.
    public var host: String
    /// Server TCP port.
    public var port: Int
    /// The name the server certificate must carry; defaults to `host`.
    public var serverName: String?
    /// PEM file of the CA(s) that sign the server certificate. `nil` uses the system trust store.
    public var trustRootsFile: String?
    /// PEM client certificate chain, for servers that require mutual TLS.
    public var certificateChainFile: String?
    /// PEM private key of the client certificate.
    public var privateKeyFile: String?
    /// Token sent in the HELLO frame to servers that require one; empty sends none.
    public var authToken: String
    /// Lowest TLS version the client accepts.
    public var minimumTLSVersion: TLSVersion
    /// Bound on TCP connect plus the TLS and protocol handshakes.
    public var connectTimeout: Duration
    /// Deadline applied to calls that do not pass their own; `nil` waits indefinitely.
    public var defaultTimeout: Duration?
    /// Spin on the socket instead of sleeping in `poll` while a blocking call waits for its
    /// response. Saves the ~25 us thread wake-up per round trip at the cost of a busy core.
    public var busyPoll: Bool
    /// Largest response payload the client accepts (announced to the server as MAX_FRAME_SIZE).
    public var maxResponseSize: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 7443,
        serverName: String? = nil,
        trustRootsFile: String? = nil,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        authToken: String = "",
        minimumTLSVersion: TLSVersion = .tls13,
        connectTimeout: Duration = .seconds(5),
        defaultTimeout: Duration? = .seconds(30),
        busyPoll: Bool = false,
        maxResponseSize: Int = 64 << 20
    ) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.trustRootsFile = trustRootsFile
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.authToken = authToken
        self.minimumTLSVersion = minimumTLSVersion
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.busyPoll = busyPoll
        self.maxResponseSize = maxResponseSize
    }
}
