#if canImport(Glibc)
import Glibc
#endif
import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// Why the server could not start.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A TensorWire inference server: TLS listener, protocol sessions and the model repository.
///
/// ```swift
/// let server = try TensorWireServer(configuration: config)
/// let port = try server.start()
/// ```
public final class TensorWireServer: Sendable {
    /// The configuration the server runs with.
    public let configuration: ServerConfiguration
    private let repository: ModelRepository
    private let pool: ComputePool
    private let listener: TLSServer
    private let sessions = SessionRegistry()

    /// Loads the model repository and the TLS identity. Models that fail to load are reported
    /// and left unready; a missing repository or a bad certificate is an error.
    public init(configuration: ServerConfiguration) throws(ServerError) {
        self.configuration = configuration
        let authenticator = try TokenAuthenticator(unnamed: configuration.authTokens, named: configuration.namedAuthTokens)
        let pool = ComputePool(threadCount: configuration.computeThreads, busyPoll: configuration.computeBusyPoll,
                               pinThreads: configuration.pinComputeThreads)
        do {
            repository = try ModelRepository(root: configuration.modelRepository, pool: pool, defaultDeny: configuration.defaultDeny)
        } catch {
            pool.shutdown()
            throw ServerError(error.description)
        }
        Self.warnAboutUnmatchablePolicies(repository, tokenNames: authenticator.names,
                                          clientCertificates: configuration.clientAuthentication != .none)
        self.pool = pool
        let tls = TLSConfiguration.server(
            certificateChainFile: configuration.certificateChainFile,
            privateKeyFile: configuration.privateKeyFile,
            trustRootsFile: configuration.clientTrustRootsFile,
            clientAuthentication: configuration.clientAuthentication,
            minimumVersion: configuration.minimumTLSVersion)
        let context: TLSContext
        do { context = try TLSContext(configuration: tls) } catch {
            pool.shutdown()
            throw ServerError("TLS: \(error)")
        }
        var transport = TLSServerConfiguration()
        transport.host = configuration.host
        transport.port = configuration.port
        transport.eventLoopCount = max(1, configuration.eventLoopCount)
        transport.busyPoll = configuration.busyPoll
        transport.maxConnections = configuration.maxConnections
        var limits = configuration.messageLimits
        limits.maxMetadataSize = configuration.connectionSettings.maxMetadataSize
        let router = RequestRouter(repository: repository, limits: limits, serverName: configuration.serverName)
        let sessions = self.sessions
        let dispatchers = LoopDispatchers()
        listener = TLSServer(configuration: transport, tls: context) { connection in
            let session = ServerSession(router: router, configuration: configuration, authenticator: authenticator,
                                        registry: sessions, dispatchers: dispatchers)
            sessions.add(session, on: connection)
            return session
        }
    }

    /// A policy entry that no caller can ever hold is most likely a typo; the model stays as
    /// closed as written, but the operator hears about it at start-up.
    private static func warnAboutUnmatchablePolicies(_ repository: ModelRepository, tokenNames: Set<String>, clientCertificates: Bool) {
        for entry in repository.entries.values.sorted(by: { $0.name < $1.name }) {
            let listed = entry.access.listedPrincipals
            let unknownTokens = listed.filter { $0.tokenName.map { !tokenNames.contains($0) } ?? false }
            if !unknownTokens.isEmpty {
                ServerLog.warning("model '\(entry.name)' allows \(unknownTokens.map(\.canonical).sorted().joined(separator: ", ")), which no auth token is named")
            }
            if !clientCertificates && listed.contains(where: \.isCertificateName) {
                ServerLog.warning("model '\(entry.name)' allows certificate names, but clients are not asked for certificates (--client-auth none)")
            }
        }
    }

    /// Starts listening and serving; returns the bound port (useful with port 0).
    public func start() throws(ServerError) -> Int {
        do { return try listener.start() } catch {
            throw ServerError("cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
    }

    /// Stops serving: sends every client GOAWAY(OK), waits up to `gracePeriod` for accepted
    /// requests to be answered and the connections to close, then closes the rest, joins the
    /// event-loop threads and stops the compute pool.
    public func stop(gracePeriod: Duration = .seconds(2)) {
        sessions.drainAll()
        let deadline = ContinuousClock.now + gracePeriod
        while sessions.count > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        listener.stop()
        pool.shutdown()
    }

    /// Models in the repository with their loaded versions and readiness, sorted by name.
    public var models: [ModelSummary] {
        repository.entries.values.sorted { $0.name < $1.name }.map {
            ModelSummary(name: $0.name, versions: $0.versions.map(\.version), ready: $0.isReady)
        }
    }
}
