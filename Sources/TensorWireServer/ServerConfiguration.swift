import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// Everything the server needs to start: where to listen, which TLS identity to present,
/// which models to serve, and the limits it enforces on clients.
public struct ServerConfiguration: Sendable {
    /// Address to bind; 127.0.0.1 keeps a development server off the network.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks an ephemeral port (reported by ``TensorWireServer/start()``).
    public var port: Int = 7443
    /// Model repository root: `<root>/<model>/config.json` and `<root>/<model>/<version>/model.onnx`.
    public var modelRepository: String
    /// PEM certificate chain the server presents.
    public var certificateChainFile: String
    /// PEM private key of the certificate.
    public var privateKeyFile: String
    /// PEM CA bundle that client certificates must chain to (for mutual TLS).
    public var clientTrustRootsFile: String?
    /// Whether clients must, may or may not present a certificate.
    public var clientAuthentication: ClientAuthentication = .none
    /// Lowest TLS version accepted; 1.3 unless old clients must be served.
    public var minimumTLSVersion: TLSVersion = .tls13
    /// Number of epoll event-loop threads; each owns its connections.
    public var eventLoopCount: Int = 1
    /// Spin event loops instead of sleeping in epoll: lower latency for dedicated cores.
    public var busyPoll: Bool = false
    /// Compute threads shared by all models' schedulers (batches and queued requests).
    public var computeThreads: Int = ComputePool.coreCount
    /// Spin compute threads instead of sleeping when there is no work (dedicated cores).
    public var computeBusyPoll: Bool = false
    /// Pin compute thread i to core i.
    public var pinComputeThreads: Bool = false
    /// Connection-level limits announced to clients in HELLO_ACK.
    public var connectionSettings = ConnectionSettings()
    /// Bounds on request contents (tensor count, rank, names). The metadata size bound always
    /// follows `connectionSettings.maxMetadataSize`, the value announced to clients.
    public var messageLimits = MessageLimits()
    /// Accepted HELLO auth tokens that name no one (a model's `token:NAME` entries never match
    /// them). With ``namedAuthTokens`` empty too, any client that passes TLS is accepted.
    public var authTokens: Set<String> = []
    /// Accepted HELLO auth tokens by name: a client presenting one is `token:NAME` to the
    /// models' access policies. Token values are never logged.
    public var namedAuthTokens: [String: String] = [:]
    /// Whether a model whose config.json has no `access` section is callable by nobody, rather
    /// than by any authenticated caller.
    public var defaultDeny = false
    /// Most connections served at once; further ones are closed after accept.
    public var maxConnections: Int = 1024
    /// A connection whose unsent responses exceed this is closed (the client stopped reading).
    public var maxOutboundBufferBytes: Int = 64 << 20
    /// Name reported in HELLO_ACK and ServerInfo.
    public var serverName: String = "tensorwire"

    public init(modelRepository: String, certificateChainFile: String, privateKeyFile: String) {
        self.modelRepository = modelRepository
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}
