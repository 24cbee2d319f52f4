/// Who may call a model: the `access` section of its config.json, or the server's default.
///
/// ```json
/// "access": {"allow": ["cert:CN=risk-engine", "cert:SAN=dns:scoring.internal", "token:credit-batch"]}
/// ```
///
/// A caller is allowed when any of its principals (see ``AccessPrincipal``) is on the list. The
/// check runs for every model-scoped request, so it is a switch and, for allow lists, one set
/// lookup per principal the caller has (one to a handful).
enum AccessPolicy: Sendable, Equatable {
    /// No `access` section on a server without `--default-deny`: today's behaviour, any caller
    /// that passed TLS and the auth-token check.
    case anyAuthenticatedCaller
    /// Only callers holding one of these principals; empty means nobody (an explicit empty
    /// list, no section under `--default-deny`, or a section that failed to parse).
    case allowList(Set<AccessPrincipal>)

    static let nobody = AccessPolicy.allowList([])

    /// Most entries one allow list may hold; a policy is for services, not for end users.
    static let maxEntries = 256

    func permits(_ caller: CallerIdentity) -> Bool {
        switch self {
        case .anyAuthenticatedCaller:
            return true
        case .allowList(let allowed):
            for principal in caller.principals where allowed.contains(principal) { return true }
            return false
        }
    }

    /// The principals an allow list names (empty for ``anyAuthenticatedCaller``).
    var listedPrincipals: Set<AccessPrincipal> {
        if case .allowList(let allowed) = self { return allowed }
        return []
    }

    /// Parses the value of a config's `access` key.
    ///
    /// Everything is checked: unknown keys, the type of every element, each entry's form,
    /// duplicates and the list's length. Messages give the entry's position, not its text: logs
    /// travel further than config files, and a mistyped entry may be a secret pasted in the
    /// wrong place.
    /// - Parameter context: Names the file in messages.
    init(section: Any, context: String) throws(ModelRepositoryError) {
        guard let section = section as? [String: Any] else {
            throw ModelRepositoryError("\(context): access must be an object like {\"allow\": [\"cert:CN=NAME\", \"token:NAME\"]}")
        }
        let unknown = Set(section.keys).subtracting(["allow"])
        guard unknown.isEmpty else {
            throw ModelRepositoryError("\(context): unknown access setting(s) \(unknown.sorted().joined(separator: ", ")) (only \"allow\" exists)")
        }
        guard let list = section["allow"] else { throw ModelRepositoryError("\(context): access needs an \"allow\" list") }
        guard let entries = list as? [Any] else { throw ModelRepositoryError("\(context): access.allow must be a list of strings") }
        guard entries.count <= Self.maxEntries else {
            throw ModelRepositoryError("\(context): access.allow has \(entries.count) entries; at most \(Self.maxEntries) are allowed")
        }
        var allowed = Set<AccessPrincipal>()
        for (index, element) in entries.enumerated() {
            guard let text = element as? String else {
                throw ModelRepositoryError("\(context): access.allow[\(index)] must be a string")
            }
            let principal: AccessPrincipal
            do { principal = try AccessPrincipal.parse(policyEntry: text) } catch {
                throw ModelRepositoryError("\(context): access.allow[\(index)] \(error)")
            }
            guard allowed.insert(principal).inserted else {
                throw ModelRepositoryError("\(context): access.allow[\(index)] repeats an earlier entry")
            }
        }
        self = .allowList(allowed)
    }
}
