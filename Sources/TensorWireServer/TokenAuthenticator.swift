/// Checks HELLO auth tokens against the configured ones and says which named token matched.
///
/// Every configured token is compared in full for every HELLO, in time that depends only on the
/// lengths involved, never on where the bytes first differ: a remote caller cannot find a token
/// byte by byte from response timing. HELLO happens once per connection, so the cost is moot.
struct TokenAuthenticator: Sendable {
    private struct Entry: Sendable {
        let name: String?
        let bytes: [UInt8]
    }

    enum Outcome: Equatable {
        /// No tokens are configured: every caller passes, and none has a token name.
        case notRequired
        /// The token matched; `name` is nil for an unnamed token.
        case accepted(name: String?)
        case missing
        case rejected
    }

    private let entries: [Entry]

    /// - Throws: ``ServerError`` for an invalid name, an empty or oversized token, or one token
    ///   value under two names (the caller's identity would be ambiguous). Messages never
    ///   contain token values.
    init(unnamed: Set<String>, named: [String: String]) throws(ServerError) {
        var entries: [Entry] = []
        var seen = Set<[UInt8]>()
        for (name, token) in named.sorted(by: { $0.key < $1.key }) {
            guard AccessPrincipal.isTokenName(name) else {
                throw ServerError("auth token name '\(name)' is invalid (1-64 of letters, digits, '-', '_', '.')")
            }
            try Self.check(token, label: "auth token '\(name)'")
            guard seen.insert(Array(token.utf8)).inserted else {
                throw ServerError("auth token '\(name)' has the same value as another token")
            }
            entries.append(Entry(name: name, bytes: Array(token.utf8)))
        }
        for token in unnamed {
            try Self.check(token, label: "an unnamed auth token")
            guard seen.insert(Array(token.utf8)).inserted else {
                throw ServerError("an unnamed auth token has the same value as a named one")
            }
            entries.append(Entry(name: nil, bytes: Array(token.utf8)))
        }
        self.entries = entries
    }

    /// Token names that exist, for checking that policies name real tokens.
    var names: Set<String> { Set(entries.compactMap(\.name)) }

    private static func check(_ token: String, label: String) throws(ServerError) {
        guard !token.isEmpty else { throw ServerError("\(label) is empty") }
        guard token.utf8.count <= 4096 else { throw ServerError("\(label) is longer than 4096 bytes (the HELLO limit)") }
    }

    func authenticate(_ presented: String) -> Outcome {
        guard !entries.isEmpty else { return .notRequired }
        guard !presented.isEmpty else { return .missing }
        let candidate = Array(presented.utf8)
        var match: Int?
        // No early exit: the loop runs over every entry whatever matched.
        for (index, entry) in entries.enumerated() where Self.constantTimeEqual(entry.bytes, candidate) {
            match = index
        }
        guard let match else { return .rejected }
        return .accepted(name: entries[match].name)
    }

    /// Compares every byte of `secret` (and `candidate` up to its length) whatever the first
    /// difference; only the lengths show in the timing.
    static func constantTimeEqual(_ secret: [UInt8], _ candidate: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: secret.count ^ candidate.count)
        let count = min(secret.count, candidate.count)
        secret.withUnsafeBufferPointer { a in
            candidate.withUnsafeBufferPointer { b in
                var accumulated: UInt8 = 0
                for index in 0..<count { accumulated |= a[index] ^ b[index] }
                difference |= UInt(accumulated)
            }
        }
        return difference == 0
    }
}
