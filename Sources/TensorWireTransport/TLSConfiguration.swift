import COpenSSL

/// A TLS protocol version that can bound a ``TLSConfiguration``.
public enum TLSVersion: Sendable {
    case tls12, tls13

    var openSSLValue: Int32 {
        switch self {
        case .tls12: return TLS1_2_VERSION
        case .tls13: return TLS1_3_VERSION
        }
    }
}

/// Whether a server asks its clients for a certificate.
public enum ClientAuthentication: Sendable {
    /// Never request a client certificate.
    case none
    /// Request a certificate and verify it if the client presents one; anonymous clients pass.
    case optional
    /// Require a valid client certificate; the handshake fails without one.
    case required
}

/// Everything needed to build a ``TLSContext``: file paths and policy.
///
/// The policy follows Mozilla's server-side TLS guidelines: "modern" (TLS 1.3 only) by default,
/// "intermediate" (TLS 1.2 restricted to ECDHE with AES-GCM or ChaCha20-Poly1305) when the
/// minimum version is lowered to ``TLSVersion/tls12``. Compression and renegotiation are always
/// off, the certificate chain depth is limited to 4, and servers issue no session tickets
/// (connections are long-lived; tickets would only add key material to protect).
public struct TLSConfiguration: Sendable {
    enum Role: Sendable { case server, client }

    var role: Role
    /// PEM certificate chain presented to the peer (leaf first).
    public var certificateChainFile: String?
    /// PEM private key matching the leaf of ``certificateChainFile``.
    public var privateKeyFile: String?
    /// PEM bundle of CA certificates used to verify the peer. For clients, `nil` means the
    /// system's default trust store (verification is never silently turned off).
    public var trustRootsFile: String?
    /// Server only: whether client certificates are requested or required.
    public var clientAuthentication: ClientAuthentication
    /// Lowest protocol version accepted.
    public var minimumVersion: TLSVersion
    /// Highest protocol version offered; mainly useful to test TLS 1.2 interoperability.
    public var maximumVersion: TLSVersion = .tls13

    /// TLS 1.3 cipher suites (Mozilla modern).
    static let tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// TLS 1.2 ciphers, used only when TLS 1.2 is allowed (Mozilla intermediate, ECDHE only).
    static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    static let groups = "X25519:P-256:P-384"
    static let verifyDepth: Int32 = 4

    /// A server configuration.
    /// - Parameters:
    ///   - certificateChainFile: PEM chain presented to clients.
    ///   - privateKeyFile: PEM private key of the leaf certificate.
    ///   - trustRootsFile: PEM CA bundle that client certificates must chain to; required unless
    ///     `clientAuthentication` is `.none`.
    ///   - clientAuthentication: whether to request or require client certificates.
    ///   - minimumVersion: lowest accepted protocol version.
    public static func server(
        certificateChainFile: String,
        privateKeyFile: String,
        trustRootsFile: String? = nil,
        clientAuthentication: ClientAuthentication = .none,
        minimumVersion: TLSVersion = .tls13
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .server, certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile,
            trustRootsFile: trustRootsFile, clientAuthentication: clientAuthentication,
            minimumVersion: minimumVersion)
    }

    /// A client configuration.
    /// - Parameters:
    ///   - trustRootsFile: PEM CA bundle that the server must chain to; `nil` uses the system
    ///     trust store.
    ///   - certificateChainFile: optional client certificate for mutual TLS.
    ///   - privateKeyFile: private key of the client certificate.
    ///   - minimumVersion: lowest accepted protocol version.
    public static func client(
        trustRootsFile: String?,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        minimumVersion: TLSVersion = .tls13
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .client, certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile,
            trustRootsFile: trustRootsFile, clientAuthentication: .none, minimumVersion: minimumVersion)
    }
}
