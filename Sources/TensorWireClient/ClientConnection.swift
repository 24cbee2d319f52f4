#if canImport(Glibc)
import Glibc
#endif
import TensorWireProtocol
import TensorWireTransport

/// One multiplexed TLS connection to a server.
///
/// Threading model (leader/follower): a thread making a blocking call writes its request and,
/// if no other thread is reading, becomes the reader itself and reads frames until its own
/// response arrives, handing responses for other calls to their waiters. A latency-critical
/// thread therefore pays no hand-off: it is woken directly by its socket. A background thread
/// reads only while async calls are outstanding and nobody else is reading.
final class ClientConnection: @unchecked Sendable {
    private let socket: TLSClientSocket
    private let lock = ConditionLock()
    private let busyPoll: Bool
    private let limits = MessageLimits()

    // Everything below is guarded by `lock`.
    private var decoder: FrameDecoder
    private var writer = ByteWriter(capacity: 16 << 10)
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var pending: [UInt32: PendingCall] = [:]
    private var nextStreamID: UInt32 = 1
    private var readerActive = false
    private var asyncOutstanding = 0
    /// Blocking callers asleep waiting for their response (or for the reader role), oldest first.
    private var parked: [PendingCall] = []
    private var backgroundReaderParked = false
    private var terminalError: RPCError?
    /// Set by GOAWAY: new calls are refused, but calls the server accepted still get answers.
    private var goingAway: RPCError?
    private var closedByUser = false
    private var backgroundReaderExited = false

    /// Settings the server announced in HELLO_ACK.
    let serverSettings: ConnectionSettings
    /// The protocol version both sides agreed on.
    let protocolVersion: UInt16
    /// The server's self-reported name from HELLO_ACK.
    let serverName: String

    /// True once the connection can no longer carry calls (closed, reset or told to go away).
    var isBroken: Bool { lock.withLock { terminalError != nil || goingAway != nil } }

    /// Connects, performs the TLS handshake, sends the preface and HELLO, and waits for HELLO_ACK.
    init(configuration: ClientConfiguration, context: TLSContext) throws(RPCError) {
        let deadline = MonotonicClock.deadline(after: configuration.connectTimeout)
        let socket: TLSClientSocket
        do {
            socket = try TLSClientSocket.connect(
                host: configuration.host, port: configuration.port, context: context,
                serverName: configuration.serverName ?? configuration.host,
                timeout: configuration.connectTimeout)
        } catch {
            throw RPCError(code: .unavailable, message: "cannot connect to \(configuration.host):\(configuration.port): \(error)", cause: error)
        }
        self.socket = socket
        self.busyPoll = configuration.busyPoll
        self.readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
        self.decoder = FrameDecoder(maxPayloadSize: configuration.maxResponseSize, expectsPreface: false)

        var settings = ConnectionSettings()
        settings.maxFrameSize = configuration.maxResponseSize
        var hello = Hello()
        hello.minVersion = ProtocolVersion.supported.lowerBound
        hello.maxVersion = ProtocolVersion.supported.upperBound
        hello.settings = settings
        hello.authToken = configuration.authToken
        writer.writePreface()
        writer.writeHello(hello)
        do {
            try Self.send(&writer, on: socket, deadline: deadline)
            let ack = try Self.awaitHelloAck(socket: socket, decoder: &decoder, buffer: readBuffer, deadline: deadline)
            serverSettings = ack.settings
            protocolVersion = ack.version
            serverName = ack.serverName
        } catch {
            socket.close()
            readBuffer.deallocate()
            throw error
        }
        startBackgroundReader()
    }

    deinit {
        socket.close()
        readBuffer.deallocate()
    }

    private static func awaitHelloAck(
        socket: TLSClientSocket, decoder: inout FrameDecoder,
        buffer: UnsafeMutableRawBufferPointer, deadline: UInt64
    ) throws(RPCError) -> HelloAck {
        while true {
            let frame: FrameView?
            do { frame = try decoder.next() } catch {
                throw RPCError(code: error.code, message: "handshake failed: \(error.message)", cause: error)
            }
            if let frame {
                switch frame.header.type {
                case .helloAck:
                    do { return try HelloAck(payload: frame.payload) } catch {
                        throw RPCError(code: .unavailable, message: "malformed HELLO_ACK: \(error.message)", cause: error)
                    }
                case .goAway:
                    let goAway = try? GoAway(payload: frame.payload)
                    throw RPCError(code: goAway?.code ?? .unavailable,
                                   message: "server refused the connection: \(goAway?.message ?? "GOAWAY")")
                default:
                    throw RPCError(code: .unavailable, message: "server sent \(frame.header.type) before HELLO_ACK")
                }
            }
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else { throw RPCError(code: .deadlineExceeded, message: "timed out waiting for HELLO_ACK") }
            let result: TLSClientSocket.ReadResult
            do { result = try socket.read(into: buffer) } catch {
                throw RPCError(code: .unavailable, message: "handshake failed: \(error)", cause: error)
            }
            switch result {
            case .bytes(let count):
                decoder.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            case .closed:
                throw RPCError(code: .unavailable, message: "server closed the connection during the handshake")
            case .wouldBlock:
                if !socket.hasBufferedData {
                    _ = socket.waitUntilReadable(timeout: .nanoseconds(Int64(deadline - now)))
                }
            }
        }
    }

    // MARK: Calls

    /// Sends a request and blocks the calling thread until its response, failure or deadline.
    func callBlocking(
        method: String, metadata: Metadata, deadline: UInt64?,
        body: (inout ByteWriter, Int) -> Void, deliver: @escaping PendingCall.Deliver
    ) throws(RPCError) {
        let call = PendingCall(deadline: deadline, isAsync: false, deliver: deliver)
        lock.lock()
        defer { lock.unlock() }
        register(call, method: method, metadata: metadata, body: body)
        while !call.isCompleted {
            if !readerActive && terminalError == nil {
                readerActive = true
                pump(until: { call.isCompleted }, deadline: call.deadline)
                readerActive = false
                handOffReading()
            } else if !call.isCompleted {
                parked.append(call)
                call.wakeup!.wait(on: lock, untilNanoseconds: call.deadline)
                parked.removeAll { $0 === call }
            }
            if !call.isCompleted, let deadline = call.deadline, MonotonicClock.nanoseconds() >= deadline {
                expire(call)
            }
        }
        if let error = call.error { throw error }
    }

    /// Sends a request and suspends the task until its response, failure or deadline.
    /// Cancelling the task sends CANCEL and fails the call with CANCELLED.
    func callAsync(
        method: String, metadata: Metadata, deadline: UInt64?,
        body: (inout ByteWriter, Int) -> Void, deliver: @escaping PendingCall.Deliver
    ) async throws(RPCError) {
        let call = PendingCall(deadline: deadline, isAsync: true, deliver: deliver)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                call.continuation = continuation
                asyncOutstanding += 1
                register(call, method: method, metadata: metadata, body: body)
                if !readerActive && backgroundReaderParked { lock.broadcast() }
                lock.unlock()
            }
        } onCancel: {
            self.cancel(call)
        }
        if let error = call.error { throw error }
    }

    /// Closes the connection; calls still waiting fail with CANCELLED.
    func close() {
        lock.lock()
        if !closedByUser {
            closedByUser = true
            fail(RPCError(code: .cancelled, message: "the client closed the connection"))
            socket.shutdown()
            lock.broadcast()
        }
        while !backgroundReaderExited { lock.wait(untilNanoseconds: nil) }
        lock.unlock()
    }

    // MARK: Internals (lock held)

    /// Assigns a stream id and writes the request; on failure completes the call with the error.
    private func register(_ call: PendingCall, method: String, metadata: Metadata, body: (inout ByteWriter, Int) -> Void) {
        if let refusal = terminalError ?? goingAway { return complete(call, error: refusal) }
        if call.cancelRequested { return complete(call, error: RPCError(code: .cancelled, message: "call cancelled")) }
        if pending.count >= serverSettings.maxConcurrentStreams {
            return complete(call, error: RPCError(code: .resourceExhausted,
                message: "\(pending.count) calls already in flight; the server accepts \(serverSettings.maxConcurrentStreams) per connection"))
        }
        guard nextStreamID < UInt32.max else {
            terminalError = RPCError(code: .unavailable, message: "stream ids exhausted on this connection; reconnect")
            return complete(call, error: terminalError!)
        }
        var timeoutMicroseconds: UInt64 = 0
        if let deadline = call.deadline {
            let now = MonotonicClock.nanoseconds()
            guard deadline > now else { return complete(call, error: RPCError(code: .deadlineExceeded, message: "deadline passed before the call was sent")) }
            timeoutMicroseconds = max(1, (deadline - now) / 1000)
        }
        call.streamID = nextStreamID
        nextStreamID += 1
        let head = RequestHead(method: method, timeoutMicroseconds: timeoutMicroseconds, metadata: metadata)
        writer.writeRequest(streamID: call.streamID, head: head, body: body)
        let frameSize = writer.count - FrameHeader.size
        if frameSize > serverSettings.maxFrameSize {
            writer.clear()
            return complete(call, error: RPCError(code: .resourceExhausted,
                message: "request of \(frameSize) bytes exceeds the server's limit of \(serverSettings.maxFrameSize)"))
        }
        pending[call.streamID] = call
        call.isRegistered = true
        do {
            try flushWriter(deadline: call.deadline)
        } catch {
            fail(error)
        }
    }

    private func flushWriter(deadline: UInt64?) throws(RPCError) {
        try Self.send(&writer, on: socket, deadline: deadline)
    }

    /// Writes everything in `writer` to the socket (then empties it), waiting at most until `deadline`.
    private static func send(_ writer: inout ByteWriter, on socket: TLSClientSocket, deadline: UInt64?) throws(RPCError) {
        defer { writer.clear() }
        let timeout: Duration = deadline.map { .nanoseconds(Int64(clamping: $0 &- min($0, MonotonicClock.nanoseconds()))) } ?? .seconds(60)
        let failure: TLSError? = writer.withUnsafeReadableBytes { bytes in
            do throws(TLSError) { try socket.writeAll(bytes, timeout: timeout) } catch { return error }
            return nil
        }
        if let failure { throw RPCError(code: .unavailable, message: "write failed: \(failure)", cause: failure) }
    }

    /// Reads and dispatches frames until `done` holds, the deadline passes or the connection dies.
    private func pump(until done: () -> Bool, deadline: UInt64?) {
        while !done() && terminalError == nil {
            let now = MonotonicClock.nanoseconds()
            if let deadline, now >= deadline { return }
            expireOverdueAsyncCalls(now: now)
            let result: TLSClientSocket.ReadResult
            do { result = try socket.read(into: readBuffer) } catch {
                fail(RPCError(code: .unavailable, message: "connection failed: \(error)", cause: error))
                return
            }
            switch result {
            case .bytes(let count):
                decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<count]))
                dispatchFrames()
            case .closed:
                fail(RPCError(code: .unavailable, message: "the server closed the connection"))
            case .wouldBlock:
                if socket.hasBufferedData { continue }
                lock.unlock()
                if busyPoll {
                    // Spinning keeps the core hot; the lock is released so writers can send.
                } else {
                    // Wake periodically so async deadlines expire even when the socket is silent.
                    var wait = Duration.milliseconds(20)
                    if let deadline {
                        let remaining = Duration.nanoseconds(Int64(clamping: deadline &- min(deadline, now)))
                        wait = min(wait, remaining)
                    }
                    _ = socket.waitUntilReadable(timeout: wait)
                }
                lock.lock()
            }
        }
    }

    private func dispatchFrames() {
        while terminalError == nil {
            let frame: FrameView?
            do { frame = try decoder.next() } catch {
                fail(RPCError(code: .internalError, message: "protocol violation by the server: \(error.message)", cause: error))
                break
            }
            guard let frame else { break }
            switch frame.header.type {
            case .response:
                // A response for an expired or cancelled call is dropped: its caller has moved on.
                guard let call = pending.removeValue(forKey: frame.header.streamID) else { continue }
                let failure: RPCError?
                do {
                    failure = call.deliver(try ResponseFrame(payload: frame.payload, limits: limits))
                } catch {
                    failure = RPCError(code: .internalError, message: "malformed response: \(error.message)", cause: error)
                }
                complete(call, error: failure)
            case .ping:
                if let opaque = try? decodePingPayload(frame.payload) {
                    writer.writePong(opaque)
                    try? flushWriter(deadline: nil)
                }
            case .pong:
                continue
            case .goAway:
                handleGoAway(frame.payload)
            default:
                fail(RPCError(code: .internalError, message: "protocol violation by the server: unexpected \(frame.header.type) frame"))
            }
        }
    }

    /// Called by a reader leaving the role: wakes one thread to take it over, and nobody else.
    /// Waking the idle background thread (or every parked caller) after each call would put
    /// context switches on the latency path.
    private func handOffReading() {
        // Only a caller still waiting can take over: one whose response came in the same pass
        // leaves without reading, and anyone parked behind it would sleep until its deadline.
        if let next = parked.first(where: { !$0.isCompleted }) {
            next.wakeup!.signal()
        } else if asyncOutstanding > 0 && backgroundReaderParked {
            lock.broadcast()
        }
    }

    private func handleGoAway(_ payload: UnsafeRawBufferPointer) {
        guard let goAway = try? GoAway(payload: payload) else {
            return fail(RPCError(code: .internalError, message: "malformed GOAWAY from the server"))
        }
        // Calls the server never accepted can safely be retried elsewhere; those it accepted
        // still get their responses before it closes.
        let refused = RPCError(code: .unavailable, message: "server is going away (\(goAway.code.name): \(goAway.message)); request not processed, safe to retry")
        for (id, call) in pending where id > goAway.lastStreamID {
            pending[id] = nil
            complete(call, error: refused)
        }
        goingAway = RPCError(code: .unavailable, message: "server is going away: \(goAway.message)")
        if goAway.code != .ok {
            // An error GOAWAY is followed by a close: nothing more will arrive.
            fail(RPCError(code: .unavailable, message: "server closed the connection (\(goAway.code.name): \(goAway.message))"))
        }
    }

    private func expireOverdueAsyncCalls(now: UInt64) {
        guard asyncOutstanding > 0 else { return }
        for call in pending.values where call.isAsync {
            if let deadline = call.deadline, now >= deadline { expire(call) }
        }
    }

    /// Fails a call whose deadline passed and tells the server to stop working on it.
    private func expire(_ call: PendingCall) {
        guard !call.isCompleted else { return }
        sendCancel(for: call)
        complete(call, error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
    }

    private func cancel(_ call: PendingCall) {
        lock.lock()
        defer { lock.unlock() }
        call.cancelRequested = true
        guard call.isRegistered, !call.isCompleted else { return }
        sendCancel(for: call)
        complete(call, error: RPCError(code: .cancelled, message: "call cancelled"))
    }

    private func sendCancel(for call: PendingCall) {
        guard pending.removeValue(forKey: call.streamID) != nil, terminalError == nil else { return }
        writer.writeCancel(streamID: call.streamID)
        try? flushWriter(deadline: MonotonicClock.deadline(after: .seconds(1)))
    }

    private func complete(_ call: PendingCall, error: RPCError?) {
        guard !call.isCompleted else { return }
        call.isCompleted = true
        call.error = error
        if call.isRegistered { pending[call.streamID] = nil }
        if call.isAsync {
            asyncOutstanding -= 1
            call.continuation?.resume()
            call.continuation = nil
        } else {
            call.wakeup!.signal()
        }
    }

    /// Marks the connection dead and fails every outstanding call with `error`.
    private func fail(_ error: RPCError) {
        if terminalError == nil { terminalError = error }
        let calls = pending.values
        pending.removeAll()
        for call in calls { complete(call, error: error) }
        lock.broadcast()
    }

    // MARK: Background reader

    private func startBackgroundReader() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            let connection = Unmanaged<ClientConnection>.fromOpaque(raw!).takeRetainedValue()
            connection.runBackgroundReader()
            return nil
        }, context)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ClientConnection>.fromOpaque(context).release()
            lock.withLock { backgroundReaderExited = true }
        }
    }

    private func runBackgroundReader() {
        lock.lock()
        while !closedByUser {
            if asyncOutstanding > 0 && !readerActive && terminalError == nil {
                readerActive = true
                pump(until: { self.asyncOutstanding == 0 || self.closedByUser }, deadline: nil)
                readerActive = false
                handOffReading()
            } else {
                backgroundReaderParked = true
                lock.wait(untilNanoseconds: nil)
                backgroundReaderParked = false
            }
        }
        backgroundReaderExited = true
        lock.broadcast()
        lock.unlock()
    }
}
