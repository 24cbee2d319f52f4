import TensorWireTransport

/// One name a caller can be authorized under: a certificate's common name, one of its DNS or
/// URI subjectAltNames, or the name of the auth token it presented.
///
/// The value is the canonical policy spelling (`cert:CN=risk-engine`, `cert:SAN=dns:scoring.internal`,
/// `cert:SAN=uri:spiffe://bank/credit`, `token:credit-batch`), so a policy is a set of principals
/// and a check is a set lookup. DNS names are lowercased on both sides (DNS is case-insensitive);
/// everything else matches exactly.
struct AccessPrincipal: Hashable, Sendable, CustomStringConvertible {
    let canonical: String
    /// The string's hash, taken once: principals are made at load and at HELLO, and looked up
    /// on every request, where hashing the string each time cost ~50 ns per principal.
    private let hash: Int

    var description: String { canonical }

    private init(canonical: String) {
        self.canonical = canonical
        hash = canonical.hashValue
    }

    static func == (lhs: AccessPrincipal, rhs: AccessPrincipal) -> Bool {
        lhs.hash == rhs.hash && lhs.canonical == rhs.canonical
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func commonName(_ name: String) -> AccessPrincipal { AccessPrincipal(canonical: "cert:CN=" + name) }
    static func dnsName(_ name: String) -> AccessPrincipal { AccessPrincipal(canonical: "cert:SAN=dns:" + asciiLowercased(name)) }
    static func uri(_ uri: String) -> AccessPrincipal { AccessPrincipal(canonical: "cert:SAN=uri:" + uri) }
    static func token(named name: String) -> AccessPrincipal { AccessPrincipal(canonical: "token:" + name) }

    /// The token's name, for a `token:` principal.
    var tokenName: String? { canonical.dropPrefix("token:").map(String.init) }
    /// Whether only a client certificate can prove this principal.
    var isCertificateName: Bool { canonical.utf8.starts(with: "cert:".utf8) }

    /// Every principal a verified certificate proves.
    static func all(provenBy certificate: PeerCertificateIdentity) -> [AccessPrincipal] {
        var principals: [AccessPrincipal] = []
        if let name = certificate.commonName, !name.isEmpty { principals.append(.commonName(name)) }
        principals += certificate.dnsNames.map(AccessPrincipal.dnsName)
        principals += certificate.uris.map(AccessPrincipal.uri)
        return principals
    }

    /// Longest allow-list entry accepted; X.509 names are far shorter (CN: 64 characters).
    static let maxEntryLength = 512

    /// Parses one allow-list entry.
    /// - Throws: a message saying what is wrong, without echoing the entry (the caller adds
    ///   its position).
    static func parse(policyEntry entry: String) throws(PolicyEntryError) -> AccessPrincipal {
        guard !entry.isEmpty else { throw PolicyEntryError("is empty") }
        guard entry.utf8.count <= maxEntryLength else { throw PolicyEntryError("is longer than \(maxEntryLength) bytes") }
        // No control characters, no leading/trailing spaces: an entry that looks right in an
        // editor but cannot match anything must not load silently.
        guard !entry.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw PolicyEntryError("contains a control character")
        }
        guard entry.first != " ", entry.last != " " else { throw PolicyEntryError("has leading or trailing spaces") }
        if let name = entry.dropPrefix("cert:CN=") {
            guard !name.isEmpty else { throw PolicyEntryError("names an empty common name") }
            return .commonName(String(name))
        }
        if let name = entry.dropPrefix("cert:SAN=dns:") {
            guard isDNSName(name) else {
                throw PolicyEntryError("is not a DNS name (letters, digits, '-', '_', '.'; wildcards are not patterns here: list each name)")
            }
            return .dnsName(String(name))
        }
        if let uri = entry.dropPrefix("cert:SAN=uri:") {
            guard isURI(uri) else { throw PolicyEntryError("is not a URI (scheme:rest, printable ASCII, no spaces)") }
            return .uri(String(uri))
        }
        if let name = entry.dropPrefix("token:") {
            guard isTokenName(name) else { throw PolicyEntryError("is not a token name (1-64 of letters, digits, '-', '_', '.')") }
            return .token(named: String(name))
        }
        throw PolicyEntryError("has an unknown form; expected cert:CN=NAME, cert:SAN=dns:NAME, cert:SAN=uri:URI or token:NAME")
    }

    /// Names an auth token may have (the `NAME` of `NAME:TOKEN` lines and of `token:NAME`).
    static func isTokenName<S: StringProtocol>(_ name: S) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isDNSName(_ name: Substring) -> Bool {
        (1...253).contains(name.utf8.count) && name.utf8.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isURI(_ uri: Substring) -> Bool {
        guard let colon = uri.firstIndex(of: ":"), colon != uri.startIndex, uri.index(after: colon) != uri.endIndex else { return false }
        let scheme = uri[..<colon]
        guard let first = scheme.utf8.first, isLetter(first),
              scheme.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else { return false }
        return uri.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool { isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) }

    private static func asciiLowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return text }
        return String(decoding: text.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

/// Why one allow-list entry was refused.
struct PolicyEntryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// Byte-wise, unlike `hasPrefix` (which compares grapheme clusters: a combining mark after
    /// `=` would hide the prefix).
    fileprivate func dropPrefix(_ prefix: String) -> Substring? {
        guard utf8.starts(with: prefix.utf8) else { return nil }
        return Substring(utf8.dropFirst(prefix.utf8.count))
    }
}
