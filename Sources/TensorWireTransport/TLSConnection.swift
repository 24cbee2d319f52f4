import CLinuxShims
import COpenSSL
import Glibc

/// One accepted TLS connection, owned by an ``EventLoop``.
///
/// Everything except the read-only properties must be used on ``eventLoop``'s thread (from a
/// ``ConnectionHandler`` callback or a task given to ``EventLoop/execute(_:)``).
public final class TLSConnection: @unchecked Sendable {
    enum State { case handshaking, active, closing, closed }

    /// The loop that owns this connection; all callbacks run on its thread.
    public let eventLoop: EventLoop
    /// The peer's address as `ip:port` (`[ip]:port` for IPv6).
    public let remoteAddress: String
    /// The RFC 2253 subject of the verified client certificate (e.g. `CN=tensorwire-dev-client`),
    /// or nil when the client sent none. Set before ``ConnectionHandler/connectionDidBecomeActive(_:)``.
    public private(set) var peerCertificateSubject: String?
    /// The names the verified client certificate proves (common name, DNS and URI SANs), or nil
    /// when the client sent none. Set before ``ConnectionHandler/connectionDidBecomeActive(_:)``.
    public private(set) var peerCertificateIdentity: PeerCertificateIdentity?
    /// The negotiated protocol, e.g. `TLSv1.3`. Set before
    /// ``ConnectionHandler/connectionDidBecomeActive(_:)``; empty during the handshake.
    public private(set) var negotiatedProtocolVersion: String = ""

    let token: UInt64
    private let fd: Int32
    private let ssl: OpaquePointer
    private(set) var state = State.handshaking
    private var handler: ConnectionHandler?
    private let outbound = ByteQueue()
    /// Absolute monotonic deadline (handshake or lingering close), 0 when none.
    private(set) var deadline: UInt64
    var isDirty = false
    /// False once OpenSSL reported a fatal error: then no close_notify may be sent.
    private var healthy = true
    // OpenSSL may need the opposite readiness of the call in progress; remember which.
    private var handshakeWantsWrite = false
    private var readWantsWrite = false
    private var writeWantsRead = false
    private var registeredEvents = Epoll.input

    /// How many SSL_read calls one readiness event may make before yielding to other connections.
    private static let maxReadsPerEvent = 16
    /// How long ``close()`` keeps trying to deliver buffered output to a slow reader.
    private static let lingerNanoseconds: UInt64 = 2_000_000_000

    init(loop: EventLoop, token: UInt64, fd: Int32, ssl: OpaquePointer, remoteAddress: String, handshakeDeadline: UInt64) {
        self.eventLoop = loop
        self.token = token
        self.fd = fd
        self.ssl = ssl
        self.remoteAddress = remoteAddress
        self.deadline = handshakeDeadline
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    /// Bytes written with ``write(_:)`` that the socket has not taken yet; use it to apply
    /// backpressure (stop reading requests while it is large).
    public var outboundBufferedBytes: Int { outbound.count }

    /// Appends bytes to the outbound buffer. Loop thread only.
    ///
    /// Nothing is sent immediately: the loop flushes after the current callback or task batch
    /// returns, so several responses coalesce into one `SSL_write` batch. Bytes written after
    /// ``close()`` are dropped.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        assert(eventLoop.inEventLoop, "TLSConnection.write must be called on its event loop")
        guard state == .active, bytes.count > 0 else { return }
        outbound.append(bytes)
        if !isDirty {
            isDirty = true
            eventLoop.markDirty(self)
        }
    }

    /// Sends buffered bytes now, as far as the socket accepts them. Loop thread only.
    ///
    /// Whatever the socket does not take is sent when it becomes writable (EPOLLOUT is
    /// registered only while that is the case).
    public func flush() {
        guard state == .active || state == .closing else { return }
        // SSL_write asked for a read: retrying before the socket is readable would spin.
        if writeWantsRead { return }
        while outbound.count > 0 {
            ERR_clear_error()
            let n = outbound.withReadable { bytes in
                SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
            }
            if n > 0 {
                outbound.consume(Int(n))
                continue
            }
            let error = SSL_get_error(ssl, n)
            if error == SSL_ERROR_WANT_WRITE { break }
            if error == SSL_ERROR_WANT_READ {
                writeWantsRead = true
                break
            }
            fail("write")
            return
        }
        if state == .closing && outbound.count == 0 {
            finalize(sendCloseNotify: true)
            return
        }
        updateInterest()
    }

    /// Flushes buffered output (best effort, for at most a couple of seconds when the peer reads
    /// slowly), then closes with a TLS close_notify. Loop thread only; idempotent.
    ///
    /// ``ConnectionHandler/connectionDidClose(_:)`` is called when the socket is actually closed,
    /// which may be after this returns.
    public func close() {
        assert(eventLoop.inEventLoop, "TLSConnection.close must be called on its event loop")
        switch state {
        case .handshaking: finalize(sendCloseNotify: false)
        case .active:
            state = .closing
            deadline = tw_now_ns() + Self.lingerNanoseconds
            eventLoop.noteDeadline(deadline)
            flush()  // finalizes at once when everything fits into the socket
        case .closing, .closed: return
        }
    }

    // MARK: - Event handling (loop thread)

    func handleEvents(_ events: UInt32) {
        let readable = events & (Epoll.input | Epoll.error | Epoll.hangUp | Epoll.readHangUp) != 0
        let writable = events & Epoll.output != 0
        switch state {
        case .handshaking:
            advanceHandshake()
        case .active:
            if writable {
                if readWantsWrite {
                    readWantsWrite = false
                    readAvailable()
                }
                flush()
            }
            if readable && state == .active {
                if writeWantsRead {
                    writeWantsRead = false
                    flush()
                }
                readAvailable()
            }
            updateInterest()
        case .closing:
            if readable { discardInput() }
            if state == .closing {
                if readable { writeWantsRead = false }
                flush()
            }
        case .closed:
            return
        }
    }

    func advanceHandshake() {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            state = .active
            deadline = 0
            negotiatedProtocolVersion = String(cString: SSL_get_version(ssl))
            var subject = [CChar](repeating: 0, count: 512)
            if tw_peer_subject(ssl, &subject, Int32(subject.count)) >= 0 {
                peerCertificateSubject = subject.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
            var names = [UInt8](repeating: 0, count: 4096)
            let length = names.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { tw_peer_identity(ssl, $0.baseAddress, Int32($0.count)) }
            }
            if length >= 0 {
                peerCertificateIdentity = names.withUnsafeBufferPointer {
                    PeerCertificateIdentity(shimLines: UnsafeBufferPointer(rebasing: $0[..<Int(length)]))
                }
            }
            let handler = eventLoop.core.makeHandler(self)
            self.handler = handler
            handler.connectionDidBecomeActive(self)
            // A TLS 1.3 client may send application data in the same flight as its Finished;
            // it is already inside OpenSSL, and epoll will not report it again.
            readAvailable()
            updateInterest()
            return
        }
        let error = SSL_get_error(ssl, rc)
        if error == SSL_ERROR_WANT_READ {
            handshakeWantsWrite = false
            updateInterest()
        } else if error == SSL_ERROR_WANT_WRITE {
            handshakeWantsWrite = true
            updateInterest()
        } else {
            fail("handshake")
        }
    }

    /// Reads until OpenSSL wants more from the socket, delivering each chunk to the handler.
    func readAvailable() {
        let buffer = eventLoop.readBuffer
        var reads = 0
        while state == .active {
            if reads == Self.maxReadsPerEvent {
                // Yield to other connections; bytes already inside OpenSSL would not be reported
                // by epoll again, so ask the loop for another pass before it sleeps.
                if SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1 { eventLoop.scheduleRead(self) }
                return
            }
            ERR_clear_error()
            let n = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if n > 0 {
                reads += 1
                handler?.connection(self, didRead: UnsafeRawBufferPointer(rebasing: buffer[0..<Int(n)]))
                continue
            }
            let error = SSL_get_error(ssl, n)
            if error == SSL_ERROR_WANT_READ {
                // Decrypted bytes left behind would never be reported by epoll.
                if SSL_pending(ssl) > 0 { eventLoop.scheduleRead(self) }
                return
            }
            if error == SSL_ERROR_WANT_WRITE {
                readWantsWrite = true
                return
            }
            if error == SSL_ERROR_ZERO_RETURN {
                // Orderly close_notify from the peer: deliver what is buffered, answer in kind.
                ERR_clear_error()
                close()
                return
            }
            fail("read")
            return
        }
    }

    /// While closing, input is read and dropped so that OpenSSL can process alerts and a write
    /// that wants a read can progress.
    private func discardInput() {
        let buffer = eventLoop.readBuffer
        while state == .closing {
            ERR_clear_error()
            let n = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if n > 0 { continue }
            let error = SSL_get_error(ssl, n)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
            if error == SSL_ERROR_ZERO_RETURN {
                ERR_clear_error()
                finalize(sendCloseNotify: true)
            } else {
                fail("read while closing")
            }
            return
        }
    }

    func updateInterest() {
        guard state != .closed else { return }
        var wanted = Epoll.input
        switch state {
        case .handshaking:
            if handshakeWantsWrite { wanted |= Epoll.output }
        case .active, .closing:
            if readWantsWrite || (outbound.count > 0 && !writeWantsRead) { wanted |= Epoll.output }
        case .closed:
            return
        }
        if wanted != registeredEvents {
            registeredEvents = wanted
            _ = tw_epoll_ctl(eventLoop.epollFD, Epoll.modify, fd, wanted, token)
        }
    }

    func deadlineExpired() {
        if state == .handshaking {
            eventLoop.core.log("handshake timeout from \(remoteAddress)")
        }
        // A lingering close that could not drain: OpenSSL may hold a half-written record, so
        // sending close_notify now could corrupt the stream. Just drop the connection.
        finalize(sendCloseNotify: false)
    }

    /// Server shutdown: one best-effort flush, then close without lingering.
    func closeForShutdown() {
        if state == .active || state == .closing {
            state = .closing
            flush()
            if state == .closing { finalize(sendCloseNotify: outbound.count == 0 && !writeWantsRead) }
        } else {
            finalize(sendCloseNotify: false)
        }
    }

    /// Used when the connection never made it into the loop's table.
    func abort() {
        healthy = false
        finalize(sendCloseNotify: false)
    }

    private func fail(_ operation: String) {
        healthy = false
        let detail = drainOpenSSLErrors()
        if state == .handshaking {
            eventLoop.core.log("TLS handshake with \(remoteAddress) failed\(detail.isEmpty ? "" : ": \(detail)")")
        } else if !detail.isEmpty {
            eventLoop.core.log("TLS \(operation) on \(remoteAddress) failed: \(detail)")
        }
        finalize(sendCloseNotify: false)
    }

    private func finalize(sendCloseNotify: Bool) {
        guard state != .closed else { return }
        if sendCloseNotify && healthy {
            // One non-blocking attempt; waiting for the peer's close_notify buys nothing.
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
        }
        ERR_clear_error()
        state = .closed
        deadline = 0
        _ = tw_epoll_ctl(eventLoop.epollFD, Epoll.delete, fd, 0, 0)
        Glibc.close(fd)
        SSL_free(ssl)
        outbound.release()
        eventLoop.connections[token] = nil
        eventLoop.core.releaseConnection()
        let handler = self.handler
        self.handler = nil  // breaks the usual handler <-> connection reference cycle
        handler?.connectionDidClose(self)
    }
}
