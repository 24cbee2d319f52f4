/// The server's answer to HELLO: chosen version, its settings and its name.
///
/// Payload: u16 chosen_version, settings, string server_name.
public struct HelloAck: Hashable, Sendable {
    public var version: UInt16
    public var settings: ConnectionSettings
    public var serverName: String

    public init(version: UInt16 = ProtocolVersion.current, settings: ConnectionSettings = ConnectionSettings(), serverName: String = "") {
        self.version = version
        self.settings = settings
        self.serverName = serverName
    }

    /// Parses a HELLO_ACK payload; any malformation is a connection error (INVALID_ARGUMENT).
    /// The client must still check that ``version`` lies in the range it offered.
    public init(payload: UnsafeRawBufferPointer) throws(ConnectionError) {
        do throws(Status) {
            var r = ByteReader(payload)
            version = try r.u16("chosen_version")
            guard version >= 1 else { throw Status.invalid("chosen_version 0") }
            settings = try ConnectionSettings(from: &r)
            serverName = try r.string(maxLength: MessageLimits.default.maxNameLength, "server_name")
            try r.expectEnd("HELLO_ACK")
        } catch {
            throw ConnectionError(error)
        }
    }
}
