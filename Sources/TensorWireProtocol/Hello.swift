/// The client's first frame: version range, its settings and an optional bearer token.
///
/// Payload: u16 min_version, u16 max_version, settings, string auth_token.
public struct Hello: Hashable, Sendable {
    public var minVersion: UInt16
    public var maxVersion: UInt16
    public var settings: ConnectionSettings
    /// Empty means no credentials.
    public var authToken: String

    /// Auth tokens get a larger limit than ordinary strings because JWTs routinely exceed 1 KiB.
    public static let maxAuthTokenLength = 4096

    public init(
        minVersion: UInt16 = ProtocolVersion.supported.lowerBound,
        maxVersion: UInt16 = ProtocolVersion.supported.upperBound,
        settings: ConnectionSettings = ConnectionSettings(),
        authToken: String = ""
    ) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.settings = settings
        self.authToken = authToken
    }

    /// Parses a HELLO payload; any malformation is a connection error (INVALID_ARGUMENT).
    public init(payload: UnsafeRawBufferPointer) throws(ConnectionError) {
        do throws(Status) {
            var r = ByteReader(payload)
            minVersion = try r.u16("min_version")
            maxVersion = try r.u16("max_version")
            guard minVersion >= 1, minVersion <= maxVersion else {
                throw Status.invalid("bad version range \(minVersion)...\(maxVersion)")
            }
            settings = try ConnectionSettings(from: &r)
            authToken = try r.string(maxLength: Self.maxAuthTokenLength, "auth_token")
            try r.expectEnd("HELLO")
        } catch {
            throw ConnectionError(error)
        }
    }

    /// The version the server should choose, or nil (answer GOAWAY FAILED_PRECONDITION).
    public func negotiatedVersion(supported: ClosedRange<UInt16> = ProtocolVersion.supported) -> UInt16? {
        ProtocolVersion.negotiate(clientMin: minVersion, clientMax: maxVersion, supported: supported)
    }
}
