import TensorWireTransport

/// Who is on the other end of a connection, as far as authorization is concerned: the names its
/// verified client certificate proves and the name of the auth token it presented.
///
/// Resolved once per connection, at HELLO (the certificate is known from the handshake, the
/// token from HELLO), so a request only pays for ``AccessPolicy/permits(_:)``.
struct CallerIdentity: Sendable, Equatable {
    /// Usually one to four entries (a CN, a SAN or two, a token name): an array is the fastest
    /// thing to walk.
    let principals: [AccessPrincipal]

    /// A caller with no certificate and no named token: allowed only where any caller is.
    static let anonymous = CallerIdentity(principals: [])

    init(principals: [AccessPrincipal]) { self.principals = principals }

    /// - Parameters:
    ///   - certificate: What the verified client certificate proves, if one was presented.
    ///   - tokenName: The name of the HELLO auth token, when it matched a named token.
    init(certificate: PeerCertificateIdentity?, tokenName: String?) {
        var principals = certificate.map(AccessPrincipal.all(provenBy:)) ?? []
        if let tokenName { principals.append(.token(named: tokenName)) }
        // Duplicates (a DNS SAN listed twice) would only cost lookups.
        var seen = Set<AccessPrincipal>()
        self.principals = principals.filter { seen.insert($0).inserted }
    }
}
