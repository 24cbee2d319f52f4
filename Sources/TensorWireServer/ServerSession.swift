import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// The protocol state of one client connection, driven on its event-loop thread.
///
/// An Infer runs inline on the loop thread that decoded it when its model is idle and does not
/// delay for batching: for small models a hand-off and wake-up (~25 us here) would cost more
/// than the inference. Otherwise it is queued on the model's scheduler and its RESPONSE is
/// written when the compute pool hands the result back to this loop. Responses produced while
/// handling one read are coalesced into a single TLS write.
///
/// `@unchecked Sendable`: a session is confined to its connection's event loop; other threads
/// only reach it through `EventLoop.execute`.
final class ServerSession: ConnectionHandler, @unchecked Sendable {
    private enum Phase {
        case awaitingHello
        case open
        /// GOAWAY(OK) sent: answer what was accepted, take nothing new, then close.
        case draining
        case closed
    }

    private struct InFlight {
        /// Nil until the request is queued (it may be answered inline instead).
        let request: ScheduledRequest?
        let scheduler: BatchScheduler
    }

    private let router: RequestRouter
    private let settings: ConnectionSettings
    private let authenticator: TokenAuthenticator
    /// What the verified client certificate proves, from the handshake.
    private var certificate: PeerCertificateIdentity?
    /// Who the client is for access policies; set once, at HELLO.
    private var caller = CallerIdentity.anonymous
    private let serverName: String
    private let maxOutboundBufferBytes: Int
    private let registry: SessionRegistry
    private var phase = Phase.awaitingHello
    private var decoder: FrameDecoder
    private var output = ByteWriter(capacity: 64 << 10)
    private var clientSettings = ConnectionSettings()
    private var lastStreamID: UInt32 = 0
    /// Infers decoded and not yet answered, by stream id: for CANCEL, MAX_CONCURRENT_STREAMS,
    /// connection loss and graceful drain.
    private var inFlight: [UInt32: InFlight] = [:]
    private let dispatchers: LoopDispatchers
    /// This connection's loop's dispatcher (looked up on first use).
    private var dispatcher: LoopDispatcher?

    init(router: RequestRouter, configuration: ServerConfiguration, authenticator: TokenAuthenticator,
         registry: SessionRegistry, dispatchers: LoopDispatchers) {
        self.router = router
        self.dispatchers = dispatchers
        self.registry = registry
        self.settings = configuration.connectionSettings
        self.authenticator = authenticator
        self.serverName = configuration.serverName
        self.maxOutboundBufferBytes = configuration.maxOutboundBufferBytes
        self.decoder = FrameDecoder(maxPayloadSize: configuration.connectionSettings.maxFrameSize, expectsPreface: true)
    }

    func connectionDidBecomeActive(_ connection: TLSConnection) {
        certificate = connection.peerCertificateIdentity
    }

    func connectionDidClose(_ connection: TLSConnection) {
        phase = .closed
        registry.remove(connection)
        // Nobody is left to answer: drop what is still queued.
        let abandoned = inFlight.values
        inFlight.removeAll()
        for entry in abandoned { if let request = entry.request { entry.scheduler.cancel(request) } }
    }

    /// Graceful shutdown (loop thread): GOAWAY(OK) with the last stream id tells the client that
    /// anything later is safe to retry elsewhere; accepted requests are still answered.
    func drain(_ connection: TLSConnection) {
        guard phase == .open || phase == .awaitingHello else { return }
        output.writeGoAway(GoAway(lastStreamID: lastStreamID, code: .ok, message: "server shutting down"))
        flush(connection)
        phase = .draining
        closeIfDrained(connection)
    }

    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
        guard phase != .closed else { return }
        decoder.append(bytes)
        let receivedAt = MonotonicClock.nanoseconds()
        do {
            while phase != .closed, let frame = try decoder.next() {
                try handle(frame, receivedAt: receivedAt, connection: connection)
            }
        } catch {
            goAway(error.code, error.message, connection: connection)
            return
        }
        flush(connection)
        if connection.outboundBufferedBytes > maxOutboundBufferBytes {
            goAway(.resourceExhausted, "client is not reading its responses", connection: connection)
        }
    }

    private func handle(_ frame: FrameView, receivedAt: UInt64, connection: TLSConnection) throws(ConnectionError) {
        let header = frame.header
        if phase == .awaitingHello {
            guard header.type == .hello else {
                throw ConnectionError(.invalidArgument, "expected HELLO, got \(header.type)")
            }
            return try handleHello(frame.payload)
        }
        switch header.type {
        case .request:
            guard header.streamID > lastStreamID else {
                throw ConnectionError(.invalidArgument,
                                      "stream id \(header.streamID) does not increase (last \(lastStreamID))")
            }
            // After GOAWAY(OK) later streams are not processed; the client retries them elsewhere.
            guard phase == .open else { return }
            lastStreamID = header.streamID
            handleRequest(frame.payload, streamID: header.streamID, receivedAt: receivedAt, connection: connection)
        case .cancel:
            // A queued request is dropped and answered CANCELLED (through its completion); one
            // that already ran or is running keeps its answer.
            if let entry = inFlight[header.streamID], let request = entry.request { entry.scheduler.cancel(request) }
        case .ping:
            output.writePong(try decodePingPayload(frame.payload))
        case .pong:
            break
        case .goAway:
            flush(connection)
            phase = .closed
            connection.close()
        case .hello, .helloAck, .response:
            throw ConnectionError(.invalidArgument, "unexpected \(header.type) frame from a client")
        }
    }

    private func handleRequest(_ payload: UnsafeRawBufferPointer, streamID: UInt32, receivedAt: UInt64, connection: TLSConnection) {
        let request: RequestFrame
        do {
            request = try RequestFrame(payload: payload, limits: router.limits)
        } catch {
            return RequestRouter.writeError(error, streamID: streamID, into: &output)
        }
        let disposition = router.respond(to: request, streamID: streamID, receivedAt: receivedAt, caller: caller,
                                         maxResponsePayload: clientSettings.maxFrameSize, into: &output)
        guard case .infer(let job) = disposition else { return }
        // Counted from decoding on, not from queueing: a request waiting for this iteration's
        // dispatch is outstanding too, and a graceful drain must wait for its answer.
        guard inFlight.count < settings.maxConcurrentStreams else {
            let status = Status(.resourceExhausted, "\(inFlight.count) requests already in flight on this connection (MAX_CONCURRENT_STREAMS)")
            job.settle(.failure(.queueFull(settings.maxConcurrentStreams)))
            job.model.recordOutcome(status.code)
            return RequestRouter.writeError(status, streamID: streamID, into: &output)
        }
        inFlight[streamID] = InFlight(request: nil, scheduler: job.model.scheduler)
        if dispatcher == nil { dispatcher = dispatchers.dispatcher(for: connection.eventLoop) }
        dispatcher!.add(LoopDispatcher.Item(session: self, connection: connection, streamID: streamID, job: job))
    }

    /// Whether answers can still be written (loop thread).
    var acceptsResponses: Bool { phase == .open || phase == .draining }

    /// Remembers a queued request's handle for CANCEL and connection loss (loop thread).
    func track(streamID: UInt32, request: ScheduledRequest, scheduler: BatchScheduler) {
        if inFlight[streamID] != nil { inFlight[streamID] = InFlight(request: request, scheduler: scheduler) }
    }

    /// Writes an Infer's answer, inline or from the queue (loop thread).
    func answer(streamID: UInt32, job: InferJob, result: Result<[Tensor], SchedulingError>, connection: TLSConnection) {
        inFlight[streamID] = nil
        guard phase == .open || phase == .draining else { return job.settle(result) }
        RequestRouter.writeInferResult(result, of: job, streamID: streamID,
                                       maxResponsePayload: clientSettings.maxFrameSize, into: &output)
        flush(connection)
        closeIfDrained(connection)
    }

    private func closeIfDrained(_ connection: TLSConnection) {
        guard phase == .draining, inFlight.isEmpty else { return }
        phase = .closed
        connection.close()
    }

    private func handleHello(_ payload: UnsafeRawBufferPointer) throws(ConnectionError) {
        let hello = try Hello(payload: payload)
        let low = max(hello.minVersion, ProtocolVersion.supported.lowerBound)
        let high = min(hello.maxVersion, ProtocolVersion.supported.upperBound)
        guard low <= high else {
            throw ConnectionError(.failedPrecondition,
                "no common protocol version: client speaks \(hello.minVersion)...\(hello.maxVersion), server \(ProtocolVersion.supported)")
        }
        var tokenName: String?
        switch authenticator.authenticate(hello.authToken) {
        case .notRequired: break
        case .accepted(let name): tokenName = name
        case .missing: throw ConnectionError(.unauthenticated, "an auth token is required")
        case .rejected: throw ConnectionError(.unauthenticated, "invalid auth token")
        }
        caller = CallerIdentity(certificate: certificate, tokenName: tokenName)
        clientSettings = hello.settings
        phase = .open
        output.writeHelloAck(HelloAck(version: high, settings: settings, serverName: serverName))
    }

    private func flush(_ connection: TLSConnection) {
        guard output.count > 0 else { return }
        output.withUnsafeReadableBytes { connection.write($0) }
        output.clear()
    }

    /// Tells the client why the connection ends, then closes it after the GOAWAY is sent.
    private func goAway(_ code: StatusCode, _ message: String, connection: TLSConnection) {
        guard phase != .closed else { return }
        output.writeGoAway(GoAway(lastStreamID: lastStreamID, code: code, message: message))
        flush(connection)
        phase = .closed
        connection.close()
    }
}
