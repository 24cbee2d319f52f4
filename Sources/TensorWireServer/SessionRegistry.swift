
import TensorWireTransport

/// The server's live sessions, so that shutdown can tell each client it is going away.
final class SessionRegistry: Sendable {
    private let sessions = Locked<[ObjectIdentifier: (connection: TLSConnection, session: ServerSession)]>([:])

    func add(_ session: ServerSession, on connection: TLSConnection) {
        sessions.withLock { $0[ObjectIdentifier(connection)] = (connection, session) }
    }

    func remove(_ connection: TLSConnection) {
        _ = sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    var count: Int { sessions.withLock { $0.count } }

    /// Asks every session, on its own event loop, to send GOAWAY(OK) and close.
    func drainAll() {
        for (connection, session) in sessions.withLock({ Array($0.values) }) {
            connection.eventLoop.execute { session.drain(connection) }
        }
    }
}
