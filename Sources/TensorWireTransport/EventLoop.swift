import CLinuxShims
import COpenSSL
import Glibc
import Synchronization

/// One epoll-driven I/O thread that owns a set of ``TLSConnection``s.
///
/// Design notes:
/// - epoll is used **level-triggered**. Edge-triggering would save a few `epoll_ctl` calls but
///   makes every early return (fairness caps, a handler closing mid-read) a potential hang;
///   with level-triggering a socket that still has bytes simply reports again.
/// - `EPOLLOUT` is registered only while output is pending (or OpenSSL asked for a write), so an
///   idle connection never wakes the loop.
/// - All connections of a loop share one read buffer; handlers see bytes only during the call.
/// - OpenSSL can hold decrypted bytes that the socket no longer signals; a connection that stops
///   reading early (fairness cap) with `SSL_pending`/`SSL_has_pending` set is queued for another
///   read pass before the loop sleeps again (with a zero timeout).
/// - Writes are buffered and flushed after each event's callbacks and after each batch of
///   ``execute(_:)`` tasks, so responses produced together go out in one `SSL_write` batch.
public final class EventLoop: @unchecked Sendable {
    private struct Pending {
        var tasks: [@Sendable () -> Void] = []
        var wakePending = false
        var closed = false
    }

    private static let wakeToken: UInt64 = 0
    private static let listenerToken: UInt64 = 1
    private static let readBufferSize = 64 * 1024
    private static let maxEvents: Int32 = 128
    private static let acceptBatch = 64

    let epollFD: Int32
    private let wakeFD: Int32
    private let listenFD: Int32
    let core: ServerCore
    private let pending = Locked(Pending())
    private let threadID = Atomic<UInt>(0)
    private var thread: pthread_t?

    // Loop-thread state.
    let readBuffer: UnsafeMutableRawBufferPointer
    var connections: [UInt64: TLSConnection] = [:]
    private var nextToken: UInt64 = 2
    private var dirty: [TLSConnection] = []
    private var needsRead: [TLSConnection] = []
    private var nextDeadline: UInt64 = .max
    private var running = true
    private var didRun = false

    init(core: ServerCore, listenFD: Int32) throws(TLSError) {
        self.core = core
        self.listenFD = listenFD
        let ep = tw_epoll_create()
        guard ep >= 0 else { throw TLSError.errno("epoll_create1", errno) }
        let wake = tw_eventfd_create()
        guard wake >= 0 else {
            let e = errno
            Glibc.close(ep)
            throw TLSError.errno("eventfd", e)
        }
        epollFD = ep
        wakeFD = wake
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        guard tw_epoll_ctl(ep, Epoll.add, wake, Epoll.input, Self.wakeToken) == 0,
            // EPOLLEXCLUSIVE: one shared listener without waking every loop per connection.
            tw_epoll_ctl(ep, Epoll.add, listenFD, Epoll.input | Epoll.exclusive, Self.listenerToken) == 0
        else {
            let e = errno
            Glibc.close(ep)
            Glibc.close(wake)
            readBuffer.deallocate()
            throw TLSError.errno("epoll_ctl", e)
        }
    }

    /// Whether the caller is running on this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// Runs `task` on this loop's thread soon. Callable from any thread.
    ///
    /// Tasks run in submission order, before the loop sleeps again; buffered writes are flushed
    /// after each batch. From another thread this costs one eventfd write unless a wake-up is
    /// already pending; from the loop itself it never wakes. Tasks submitted after the loop has
    /// stopped are dropped.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let onLoop = inEventLoop
        pending.withLock { state in
            if state.closed { return }
            state.tasks.append(task)
            // A busy-polling loop drains the queue on every spin: the eventfd write would be waste.
            if onLoop || state.wakePending || core.busyPoll { return }
            state.wakePending = true
            // Signalled under the lock so that the loop cannot close the eventfd in between.
            tw_eventfd_signal(wakeFD)
        }
    }

    // MARK: - Thread lifecycle

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
            loop.run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = tid
    }

    /// Asks the loop to close its connections and exit, then waits for its thread.
    func stopAndJoin() {
        precondition(!inEventLoop, "TLSServer.stop() must not be called on one of its event loops")
        execute { [self] in running = false }
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    deinit {
        // A loop whose server failed to start never ran shutdownAll(); release what init took.
        if !didRun {
            Glibc.close(wakeFD)
            Glibc.close(epollFD)
            readBuffer.deallocate()
        }
    }

    private func run() {
        didRun = true
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        var events = [UInt32](repeating: 0, count: Int(Self.maxEvents))
        var tokens = [UInt64](repeating: 0, count: Int(Self.maxEvents))
        while running {
            let timeout = computeTimeout()
            let n = events.withUnsafeMutableBufferPointer { ev in
                tokens.withUnsafeMutableBufferPointer { tk in
                    tw_epoll_wait(epollFD, ev.baseAddress, tk.baseAddress, Self.maxEvents, timeout)
                }
            }
            if n > 0 {
                for i in 0..<Int(n) {
                    switch tokens[i] {
                    case Self.wakeToken:
                        tw_eventfd_drain(wakeFD)
                    case Self.listenerToken:
                        acceptConnections()
                    case let token:
                        // A connection closed earlier in this batch leaves a stale token: ignore.
                        guard let connection = connections[token] else { continue }
                        connection.handleEvents(events[i])
                        flushDirty()
                    }
                }
            }
            serviceNeedsRead()
            runTasks()
            if nextDeadline != .max && tw_now_ns() >= nextDeadline { sweepDeadlines() }
        }
        shutdownAll()
    }

    private func computeTimeout() -> Int32 {
        if core.busyPoll || !needsRead.isEmpty { return 0 }
        if pending.withLock({ !$0.tasks.isEmpty }) { return 0 }
        if nextDeadline == .max { return -1 }
        let now = tw_now_ns()
        if now >= nextDeadline { return 0 }
        return Int32(clamping: (nextDeadline - now + 999_999) / 1_000_000)
    }

    private func runTasks() {
        let tasks = pending.withLock { state -> [@Sendable () -> Void] in
            state.wakePending = false
            if state.tasks.isEmpty { return [] }
            let tasks = state.tasks
            state.tasks = []
            return tasks
        }
        if tasks.isEmpty { return }
        for task in tasks { task() }
        flushDirty()
    }

    private func acceptConnections() {
        var address = [CChar](repeating: 0, count: 64)
        for _ in 0..<Self.acceptBatch {
            let fd = tw_accept(listenFD, &address, address.count)
            if fd < 0 {
                let error = -fd
                if error == EAGAIN || error == EWOULDBLOCK { return }
                if error == ECONNABORTED || error == EINTR { continue }
                core.log("accept failed: \(String(cString: strerror(error)))")
                return
            }
            guard core.reserveConnection() else {
                Glibc.close(fd)
                core.log("connection refused: maxConnections reached")
                continue
            }
            let remote = address.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let token = nextToken
            nextToken += 1
            guard let ssl = SSL_new(core.tls.ctx) else {
                ERR_clear_error()
                Glibc.close(fd)
                core.releaseConnection()
                continue
            }
            let connection = TLSConnection(
                loop: self, token: token, fd: fd, ssl: ssl, remoteAddress: remote,
                handshakeDeadline: tw_now_ns() + core.handshakeTimeoutNanoseconds)
            guard tw_epoll_ctl(epollFD, Epoll.add, fd, Epoll.input, token) == 0 else {
                connection.abort()
                continue
            }
            connections[token] = connection
            noteDeadline(connection.deadline)
            connection.advanceHandshake()
            flushDirty()
        }
    }

    // MARK: - Connection bookkeeping (loop thread)

    func markDirty(_ connection: TLSConnection) { dirty.append(connection) }

    func scheduleRead(_ connection: TLSConnection) { needsRead.append(connection) }

    func noteDeadline(_ deadline: UInt64) {
        if deadline != 0 && deadline < nextDeadline { nextDeadline = deadline }
    }

    func flushDirty() {
        while !dirty.isEmpty {
            let batch = dirty
            dirty = []
            for connection in batch {
                connection.isDirty = false
                connection.flush()
            }
        }
    }

    private func serviceNeedsRead() {
        guard !needsRead.isEmpty else { return }
        let batch = needsRead
        needsRead = []
        for connection in batch {
            connection.readAvailable()
            connection.updateInterest()
            flushDirty()
        }
    }

    private func sweepDeadlines() {
        let now = tw_now_ns()
        nextDeadline = .max
        for connection in Array(connections.values) where connection.deadline != 0 {
            if connection.deadline <= now {
                connection.deadlineExpired()
            } else {
                noteDeadline(connection.deadline)
            }
        }
        flushDirty()
    }

    private func shutdownAll() {
        for connection in Array(connections.values) { connection.closeForShutdown() }
        connections = [:]
        dirty = []
        needsRead = []
        _ = tw_epoll_ctl(epollFD, Epoll.delete, listenFD, 0, 0)
        pending.withLock { state in
            state.closed = true
            state.tasks = []
        }
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
        readBuffer.deallocate()
    }
}
