import TensorWireProtocol
import TensorWireTransport

/// The protocol state of one client connection, driven on its event-loop thread.
///
/// Requests run inline on the loop thread that decoded them: for small models the hand-off to
/// another thread and its wake-up (~25 us here) would cost more than the inference itself.
/// Responses produced while handling one read are coalesced into a single TLS write.
///
/// `@unchecked Sendable`: a session is confined to its connection's event loop; other threads
/// only reach it through `EventLoop.execute`.
final class ServerSession: ConnectionHandler, @unchecked Sendable {
    private enum Phase { case awaitingHello, open, closed }

    private let router: RequestRouter
    private let settings: ConnectionSettings
    private let authTokens: Set<String>
    private let serverName: String
    private let maxOutboundBufferBytes: Int
    private let registry: SessionRegistry
    private var phase = Phase.awaitingHello
    private var decoder: FrameDecoder
    private var output = ByteWriter(capacity: 64 << 10)
    private var clientSettings = ConnectionSettings()
    private var lastStreamID: UInt32 = 0

    init(router: RequestRouter, configuration: ServerConfiguration, registry: SessionRegistry) {
        self.router = router
        self.registry = registry
        self.settings = configuration.connectionSettings
        self.authTokens = configuration.authTokens
        self.serverName = configuration.serverName
        self.maxOutboundBufferBytes = configuration.maxOutboundBufferBytes
        self.decoder = FrameDecoder(maxPayloadSize: configuration.connectionSettings.maxFrameSize, expectsPreface: true)
    }

    func connectionDidBecomeActive(_ connection: TLSConnection) {}

    func connectionDidClose(_ connection: TLSConnection) {
        phase = .closed
        registry.remove(connection)
    }

    /// Graceful shutdown (loop thread): every request received so far has been answered (they
    /// run inline), so GOAWAY(OK) with the last stream id tells the client that anything later
    /// is safe to retry elsewhere.
    func drain(_ connection: TLSConnection) {
        goAway(.ok, "server shutting down", connection: connection)
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
            lastStreamID = header.streamID
            let request: RequestFrame
            do {
                request = try RequestFrame(payload: frame.payload, limits: router.limits)
            } catch {
                return RequestRouter.writeError(error, streamID: header.streamID, into: &output)
            }
            router.respond(to: request, streamID: header.streamID, receivedAt: receivedAt,
                           maxResponsePayload: clientSettings.maxFrameSize, into: &output)
        case .cancel:
            // Requests complete inline before the next frame is read, so there is never
            // anything left to cancel; the frame is valid and ignored.
            break
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

    private func handleHello(_ payload: UnsafeRawBufferPointer) throws(ConnectionError) {
        let hello = try Hello(payload: payload)
        let low = max(hello.minVersion, ProtocolVersion.supported.lowerBound)
        let high = min(hello.maxVersion, ProtocolVersion.supported.upperBound)
        guard low <= high else {
            throw ConnectionError(.failedPrecondition,
                "no common protocol version: client speaks \(hello.minVersion)...\(hello.maxVersion), server \(ProtocolVersion.supported)")
        }
        if !authTokens.isEmpty && !authTokens.contains(hello.authToken) {
            throw ConnectionError(.unauthenticated, hello.authToken.isEmpty ? "an auth token is required" : "invalid auth token")
        }
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
