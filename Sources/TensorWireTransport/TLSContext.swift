import COpenSSL

/// An OpenSSL `SSL_CTX` built from a ``TLSConfiguration``.
///
/// Files are loaded when the context is created, so a missing or mismatched certificate or key
/// fails at start-up rather than on the first connection. One context is shared by all
/// connections; OpenSSL makes `SSL_CTX` safe to use from several threads once configured.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    /// The configuration this context was built from.
    public let configuration: TLSConfiguration
    /// Whether peers are verified against trust roots (always true for clients).
    let verifiesPeer: Bool

    /// Creates the context and loads all certificate, key and trust files.
    /// - Throws: ``TLSError`` naming the file and OpenSSL's reason when anything fails to load.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new(method) else { throw TLSError.openSSL("SSL_CTX_new failed") }
        self.ctx = ctx
        self.configuration = configuration
        self.verifiesPeer = configuration.role == .client || configuration.clientAuthentication != .none
        // From here on `deinit` frees ctx if configure() throws.
        try configure()
    }

    deinit { SSL_CTX_free(ctx) }

    private func configure() throws(TLSError) {
        let c = configuration
        if c.minimumVersion == .tls13 && c.maximumVersion == .tls12 {
            throw TLSError("TLS configuration: minimum version is above maximum version")
        }
        guard tw_SSL_CTX_set_min_proto_version(ctx, c.minimumVersion.openSSLValue) == 1,
            tw_SSL_CTX_set_max_proto_version(ctx, c.maximumVersion.openSSLValue) == 1
        else { throw TLSError.openSSL("cannot set protocol versions") }
        guard SSL_CTX_set_ciphersuites(ctx, TLSConfiguration.tls13CipherSuites) == 1 else {
            throw TLSError.openSSL("cannot set TLS 1.3 cipher suites")
        }
        guard SSL_CTX_set_cipher_list(ctx, TLSConfiguration.tls12Ciphers) == 1 else {
            throw TLSError.openSSL("cannot set TLS 1.2 ciphers")
        }
        guard tw_SSL_CTX_set1_groups_list(ctx, TLSConfiguration.groups) == 1 else {
            throw TLSError.openSSL("cannot set key exchange groups")
        }
        var options = tw_SSL_OP_NO_COMPRESSION() | tw_SSL_OP_NO_RENEGOTIATION()
        if c.role == .server { options |= tw_SSL_OP_NO_TICKET() }
        _ = SSL_CTX_set_options(ctx, options)
        _ = tw_SSL_CTX_set_mode(
            ctx, tw_SSL_MODE_ENABLE_PARTIAL_WRITE() | tw_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        if c.role == .server { _ = SSL_CTX_set_num_tickets(ctx, 0) }

        switch (c.certificateChainFile, c.privateKeyFile) {
        case let (chain?, key?):
            guard SSL_CTX_use_certificate_chain_file(ctx, chain) == 1 else {
                throw TLSError.openSSL("cannot load certificate chain '\(chain)'")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.openSSL("cannot load private key '\(key)'")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.openSSL("private key '\(key)' does not match certificate '\(chain)'")
            }
        case (nil, nil):
            if c.role == .server { throw TLSError("TLS server configuration needs a certificate and key") }
        default:
            throw TLSError("TLS configuration: certificate chain and private key must be given together")
        }

        if let roots = c.trustRootsFile {
            guard SSL_CTX_load_verify_locations(ctx, roots, nil) == 1 else {
                throw TLSError.openSSL("cannot load trust roots '\(roots)'")
            }
            if c.role == .server && c.clientAuthentication != .none {
                // Tells clients which CAs are acceptable, so that they pick the right certificate.
                guard let names = SSL_load_client_CA_file(roots) else {
                    throw TLSError.openSSL("cannot read CA names from '\(roots)'")
                }
                SSL_CTX_set_client_CA_list(ctx, names)
            }
        } else if c.role == .client {
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                throw TLSError.openSSL("cannot load the system trust store")
            }
        } else if c.clientAuthentication != .none {
            throw TLSError("TLS server configuration: client authentication needs trust roots")
        }

        var mode = SSL_VERIFY_NONE
        if c.role == .client {
            mode = SSL_VERIFY_PEER
        } else {
            switch c.clientAuthentication {
            case .none: mode = SSL_VERIFY_NONE
            case .optional: mode = SSL_VERIFY_PEER
            case .required: mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            }
        }
        SSL_CTX_set_verify(ctx, mode, nil)
        SSL_CTX_set_verify_depth(ctx, TLSConfiguration.verifyDepth)
    }
}
