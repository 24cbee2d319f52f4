import CLinuxShims
import COpenSSL
import Glibc

/// A client TLS connection over a non-blocking socket, driven by the caller's threads.
///
/// Not internally synchronised: the caller serialises ``read(into:)``, ``write(_:)``,
/// ``writeAll(_:timeout:)``, ``shutdown()`` and ``close()`` with its own lock.
/// ``waitUntilReadable(timeout:)`` only polls the descriptor and may run without that lock,
/// concurrently with another thread's write.
public final class TLSClientSocket: @unchecked Sendable {
    /// Outcome of one non-blocking ``TLSClientSocket/read(into:)``.
    public enum ReadResult: Sendable, Equatable {
        /// This many bytes were stored at the start of the buffer.
        case bytes(Int)
        /// Nothing available now: check ``TLSClientSocket/hasBufferedData`` and otherwise wait
        /// with ``TLSClientSocket/waitUntilReadable(timeout:)``.
        case wouldBlock
        /// The server closed the connection.
        case closed
    }

    /// The socket descriptor (stays valid until ``close()``).
    public let fileDescriptor: Int32
    /// The negotiated protocol, e.g. `TLSv1.3`.
    public private(set) var negotiatedProtocolVersion = ""
    private let ssl: OpaquePointer
    private let context: TLSContext  // keeps the SSL_CTX alive as long as the SSL
    private var healthy = true
    private var isShutDown = false
    private var isClosed = false

    private init(fd: Int32, ssl: OpaquePointer, context: TLSContext) {
        self.fileDescriptor = fd
        self.ssl = ssl
        self.context = context
    }

    deinit { close() }

    /// Opens a TCP connection (TCP_NODELAY) and performs the full TLS handshake.
    ///
    /// The server's chain is verified against the context's trust roots and its certificate must
    /// match `serverName` (or `host` when `serverName` is nil): a DNS name is checked against the
    /// certificate's DNS names and sent as SNI, an IP literal is checked against its IP addresses.
    /// - Throws: ``TLSError`` on connection failure, timeout, or any verification failure.
    public static func connect(host: String, port: Int, context: TLSContext, serverName: String?, timeout: Duration) throws(TLSError) -> TLSClientSocket {
        guard context.configuration.role == .client else {
            throw TLSError("TLSClientSocket.connect needs a client TLSContext")
        }
        tw_ignore_sigpipe_if_default()
        let deadline = ContinuousClock.now + timeout
        let fd = tw_connect(host, Int32(port), milliseconds(timeout))
        guard fd >= 0 else {
            throw TLSError.errno("cannot connect to \(SocketAddress(host: host, port: port))", -fd)
        }
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx) else {
            Glibc.close(fd)
            throw TLSError.openSSL("SSL_new failed")
        }
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        let name = serverName ?? host
        if SocketAddress.isIPLiteral(name) {
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
        } else {
            _ = tw_SSL_set_tlsext_host_name(ssl, name)
            _ = SSL_set1_host(ssl, name)
        }
        // From here on the instance owns fd and ssl, so every failure path cleans up in deinit.
        let socket = TLSClientSocket(fd: fd, ssl: ssl, context: context)
        try socket.handshake(deadline: deadline, peer: "\(SocketAddress(host: host, port: port))")
        socket.negotiatedProtocolVersion = String(cString: SSL_get_version(ssl))
        return socket
    }

    private func handshake(deadline: ContinuousClock.Instant, peer: String) throws(TLSError) {
        while true {
            ERR_clear_error()
            let rc = SSL_do_handshake(ssl)
            if rc == 1 { return }
            let error = SSL_get_error(ssl, rc)
            let events: Int16
            if error == SSL_ERROR_WANT_READ {
                events = Int16(POLLIN)
            } else if error == SSL_ERROR_WANT_WRITE {
                events = Int16(POLLOUT)
            } else {
                healthy = false
                var message = "TLS handshake with \(peer) failed"
                let verify = SSL_get_verify_result(ssl)
                if verify != X509_V_OK {
                    message += " (certificate verification: \(String(cString: X509_verify_cert_error_string(verify))))"
                }
                throw TLSError.openSSL(message)
            }
            let remaining = deadline - ContinuousClock.now
            let rev = tw_poll_one(fileDescriptor, events, milliseconds(remaining))
            if rev == 0 { throw TLSError("TLS handshake with \(peer) timed out") }
            if rev < 0 { throw TLSError.errno("poll", -rev) }
        }
    }

    /// One non-blocking `SSL_read`.
    ///
    /// Returns ``ReadResult/wouldBlock`` also when OpenSSL needs to write first (the socket
    /// will be writable soon; the next call retries). An end of stream without close_notify is
    /// reported as ``ReadResult/closed`` too: for a request/response client the difference does
    /// not change what it must do.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> ReadResult {
        guard !isClosed, healthy else { return .closed }
        guard buffer.count > 0 else { return .bytes(0) }
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if n > 0 { return .bytes(Int(n)) }
        let error = SSL_get_error(ssl, n)
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        default:
            healthy = false
            if isShutDown {
                ERR_clear_error()
                return .closed
            }
            let code = ERR_peek_error()
            if error == SSL_ERROR_SSL && tw_ERR_GET_REASON(code) == tw_SSL_R_UNEXPECTED_EOF_WHILE_READING() {
                ERR_clear_error()
                return .closed
            }
            if error == SSL_ERROR_SYSCALL && code == 0 {
                let e = errno
                if e == 0 || e == ECONNRESET || e == EPIPE {
                    return .closed
                }
                throw TLSError.errno("TLS read", e)
            }
            throw TLSError.openSSL("TLS read failed")
        }
    }

    /// Whether OpenSSL holds bytes not yet returned by ``read(into:)``. Call `read` again before
    /// polling the socket when this is true: poll would not report those bytes.
    public var hasBufferedData: Bool {
        guard !isClosed else { return false }
        return SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1
    }

    /// One non-blocking `SSL_write` (partial writes enabled).
    /// - Returns: bytes written; 0 means the socket would block (retry with at least the same
    ///   bytes at the start of the buffer).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        try writeSome(bytes).written
    }

    private func writeSome(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> (written: Int, wants: Int16) {
        guard !isClosed, healthy, !isShutDown else { throw TLSError("TLS write on a closed connection") }
        guard bytes.count > 0 else { return (0, 0) }
        ERR_clear_error()
        let n = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if n > 0 { return (Int(n), 0) }
        let error = SSL_get_error(ssl, n)
        if error == SSL_ERROR_WANT_WRITE { return (0, Int16(POLLOUT)) }
        if error == SSL_ERROR_WANT_READ { return (0, Int16(POLLIN)) }
        healthy = false
        if error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 {
            throw TLSError.errno("TLS write", errno)
        }
        throw TLSError.openSSL("TLS write failed")
    }

    /// Writes all of `bytes`, polling for whatever readiness OpenSSL asks for.
    /// - Throws: ``TLSError`` on failure or when `timeout` passes first.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, timeout: Duration) throws(TLSError) {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let (written, wants) = try writeSome(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            offset += written
            if written > 0 { continue }
            let rev = tw_poll_one(fileDescriptor, wants, milliseconds(deadline - ContinuousClock.now))
            if rev == 0 { throw TLSError("TLS write timed out") }
            if rev < 0 { throw TLSError.errno("poll", -rev) }
        }
    }

    /// Blocks in `poll(POLLIN)` until the socket is readable, hung up or shut down.
    /// - Parameter timeout: nil waits forever.
    /// - Returns: true if readable (or closed: the next read reports it), false on timeout.
    public func waitUntilReadable(timeout: Duration?) -> Bool {
        tw_poll_one(fileDescriptor, Int16(POLLIN), milliseconds(timeout)) != 0
    }

    /// Shuts the socket down in both directions so that a thread blocked in
    /// ``waitUntilReadable(timeout:)`` wakes up. Does not send close_notify (another thread may
    /// be inside OpenSSL). Idempotent.
    public func shutdown() {
        guard !isClosed, !isShutDown else { return }
        isShutDown = true
        _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }

    /// Sends close_notify when the session is healthy, then frees the connection. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if healthy && !isShutDown {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
        }
        ERR_clear_error()
        SSL_free(ssl)
        Glibc.close(fileDescriptor)
    }
}
