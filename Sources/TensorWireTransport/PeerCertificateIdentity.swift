/// The names a client's verified certificate proves: what the server can authorize on when
/// mutual TLS is on.
///
/// Only names from a certificate that chained to the server's trust roots are reported; the
/// transport extracts them once, right after the handshake.
public struct PeerCertificateIdentity: Sendable, Equatable {
    /// The subject's common name (the last CN when the subject has several, the most specific).
    public var commonName: String?
    /// subjectAltName DNS entries, as written in the certificate.
    public var dnsNames: [String]
    /// subjectAltName URI entries (e.g. SPIFFE IDs), as written in the certificate.
    public var uris: [String]

    public init(commonName: String? = nil, dnsNames: [String] = [], uris: [String] = []) {
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.uris = uris
    }

    /// Parses the C shim's `CN=`/`DNS:`/`URI:` lines. Lines that are not valid UTF-8 are dropped
    /// rather than repaired: a replacement character could make two different names equal.
    init(shimLines bytes: UnsafeBufferPointer<UInt8>) {
        self.init()
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard let text = String(validating: line, as: UTF8.self) else { continue }
            if text.hasPrefix("CN=") {
                commonName = String(text.dropFirst(3))
            } else if text.hasPrefix("DNS:") {
                dnsNames.append(String(text.dropFirst(4)))
            } else if text.hasPrefix("URI:") {
                uris.append(String(text.dropFirst(4)))
            }
        }
    }
}
