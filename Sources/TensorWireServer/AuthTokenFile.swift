/// The contents of an `--auth-token-file`: one token per line, optionally named.
///
/// ```
/// # comments and blank lines are ignored
/// credit-batch:9f2c...e1      a named token: callers presenting it are `token:credit-batch`
/// 4b7d...a0                   an unnamed token: authenticates, but names no one
/// ```
///
/// A line holding a `:` is `NAME:TOKEN`, split at the first `:`; a line without one is an
/// unnamed token, which is what every line was before tokens had names. Errors name the line
/// number, never its text: the file holds secrets.
public struct AuthTokenFile: Sendable, Equatable {
    /// Tokens that authenticate without naming the caller.
    public var unnamed: Set<String> = []
    /// Tokens by name.
    public var named: [String: String] = [:]

    public init(unnamed: Set<String> = [], named: [String: String] = [:]) {
        self.unnamed = unnamed
        self.named = named
    }

    /// Parses the text of a token file.
    public init(parsing text: String) throws(ServerError) {
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingWhitespace()
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                guard unnamed.insert(String(line)).inserted else { throw ServerError("line \(number): the same token appears twice") }
                continue
            }
            let name = line[..<colon].trimmingWhitespace()
            let token = line[line.index(after: colon)...].trimmingWhitespace()
            guard AccessPrincipal.isTokenName(name) else {
                throw ServerError("line \(number): expected NAME:TOKEN with a NAME of 1-64 letters, digits, '-', '_', '.' (a token containing ':' needs a name in front)")
            }
            guard !token.isEmpty else { throw ServerError("line \(number): no token after the name's ':'") }
            guard named.updateValue(String(token), forKey: String(name)) == nil else {
                throw ServerError("line \(number): the token name is used twice")
            }
        }
        guard !unnamed.isEmpty || !named.isEmpty else { throw ServerError("holds no tokens") }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        let text = self[...]
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else {
            return Substring()
        }
        return Substring(text[first...last])
    }
}
