/// Receives a server connection's events and decrypted bytes.
///
/// All methods are called on the connection's own event-loop thread, so a handler that is used
/// by one connection needs no locking for its own state. A handler is created (by the server's
/// `makeHandler`) only after the TLS handshake succeeds, so failed handshakes never reach it.
public protocol ConnectionHandler: AnyObject {
    /// Called once, right after the TLS handshake completes.
    func connectionDidBecomeActive(_ connection: TLSConnection)
    /// Called with decrypted bytes; `bytes` is only valid for the duration of the call (it points
    /// into the event loop's shared read buffer). The transport knows nothing about message
    /// framing: a message may arrive split across calls or several may arrive in one.
    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer)
    /// Called once when the connection has closed, for any reason. No further calls follow.
    func connectionDidClose(_ connection: TLSConnection)
}
