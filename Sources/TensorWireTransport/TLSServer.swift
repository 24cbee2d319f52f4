import CLinuxShims
import Glibc
import Synchronization

/// Settings of a ``TLSServer``.
public struct TLSServerConfiguration: Sendable {
    /// Address to listen on: an IPv4 or IPv6 literal (or `localhost`).
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks an ephemeral port (``TLSServer/start()`` returns it).
    public var port: Int = 0
    /// Number of event-loop threads; connections are spread over them by the kernel.
    public var eventLoopCount: Int = 1
    /// Spin `epoll_wait` with a zero timeout instead of blocking. Saves the ~25 us thread wake-up
    /// per event on virtual machines at the cost of one busy core per loop: for dedicated cores.
    public var busyPoll: Bool = false
    /// Connections that have not completed the TLS handshake by then are dropped.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Connections beyond this are accepted and closed at once.
    public var maxConnections: Int = 1024
    /// `listen()` backlog.
    public var backlog: Int = 512
    /// Optional sink for rare diagnostic lines (failed handshakes, accept errors). Called on
    /// event-loop threads; keep it cheap.
    public var logger: (@Sendable (String) -> Void)? = nil

    public init() {}
}

/// State shared by a server's event loops.
final class ServerCore: Sendable {
    let tls: TLSContext
    let makeHandler: @Sendable (TLSConnection) -> ConnectionHandler
    let busyPoll: Bool
    let handshakeTimeoutNanoseconds: UInt64
    let maxConnections: Int
    let logger: (@Sendable (String) -> Void)?
    private let connectionCount = Atomic<Int>(0)

    init(configuration: TLSServerConfiguration, tls: TLSContext, makeHandler: @escaping @Sendable (TLSConnection) -> ConnectionHandler) {
        self.tls = tls
        self.makeHandler = makeHandler
        self.busyPoll = configuration.busyPoll
        self.handshakeTimeoutNanoseconds = nanoseconds(configuration.handshakeTimeout)
        self.maxConnections = configuration.maxConnections
        self.logger = configuration.logger
    }

    func reserveConnection() -> Bool {
        let now = connectionCount.add(1, ordering: .relaxed).newValue
        if now > maxConnections {
            connectionCount.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseConnection() { connectionCount.subtract(1, ordering: .relaxed) }

    var currentConnections: Int { connectionCount.load(ordering: .relaxed) }

    func log(_ message: @autoclosure () -> String) { logger?(message()) }
}

/// A TLS server: one listening socket shared by ``TLSServerConfiguration/eventLoopCount`` epoll
/// event loops, each with its own thread. Handlers receive decrypted bytes on the loop thread of
/// their connection.
public final class TLSServer: @unchecked Sendable {
    private enum Lifecycle {
        case idle
        case running(loops: [EventLoop], listenFD: Int32, port: Int)
        case stopped
    }

    private let configuration: TLSServerConfiguration
    private let core: ServerCore
    private let lifecycle = Locked(Lifecycle.idle)

    /// - Parameters:
    ///   - configuration: listening address and loop settings.
    ///   - tls: a server ``TLSContext``.
    ///   - makeHandler: called on the loop thread after each successful handshake.
    public init(configuration: TLSServerConfiguration, tls: TLSContext, makeHandler: @escaping @Sendable (TLSConnection) -> ConnectionHandler) {
        self.configuration = configuration
        self.core = ServerCore(configuration: configuration, tls: tls, makeHandler: makeHandler)
    }

    deinit { stop() }

    /// Binds, listens and starts the loop threads.
    /// - Returns: the bound port (useful with port 0).
    public func start() throws -> Int {
        try lifecycle.withLock { state throws(TLSError) -> Int in
            guard case .idle = state else { throw TLSError("TLSServer.start() called twice") }
            tw_ignore_sigpipe_if_default()
            var port: Int32 = 0
            let fd = tw_listen(configuration.host, Int32(configuration.port), Int32(configuration.backlog), &port)
            guard fd >= 0 else {
                throw TLSError.errno("cannot listen on \(SocketAddress(host: configuration.host, port: configuration.port))", -fd)
            }
            var loops: [EventLoop] = []
            do throws(TLSError) {
                for _ in 0..<max(1, configuration.eventLoopCount) {
                    loops.append(try EventLoop(core: core, listenFD: fd))
                }
            } catch {
                Glibc.close(fd)
                throw error
            }
            for loop in loops { loop.start() }
            state = .running(loops: loops, listenFD: fd, port: Int(port))
            return Int(port)
        }
    }

    /// The event loops, for callers that want to schedule work next to connections.
    public var eventLoops: [EventLoop] {
        lifecycle.withLock { state in
            if case .running(let loops, _, _) = state { return loops }
            return []
        }
    }

    /// The bound port while running, else nil.
    public var port: Int? {
        lifecycle.withLock { state in
            if case .running(_, _, let port) = state { return port }
            return nil
        }
    }

    /// Number of open connections (including those still handshaking).
    public var connectionCount: Int { core.currentConnections }

    /// Closes the listener and every connection (handlers get ``ConnectionHandler/connectionDidClose(_:)``)
    /// and joins the loop threads. Idempotent. Must not be called from one of this server's loops.
    public func stop() {
        let running = lifecycle.withLock { state -> (loops: [EventLoop], fd: Int32)? in
            defer { state = .stopped }
            if case .running(let loops, let fd, _) = state { return (loops, fd) }
            return nil
        }
        guard let running else { return }
        for loop in running.loops { loop.stopAndJoin() }
        Glibc.close(running.fd)
    }
}
