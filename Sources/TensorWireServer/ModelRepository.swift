import Foundation
import InferenceEngine
import TensorWireProtocol

/// The models a server serves, loaded once from a directory tree:
/// `<root>/<model>/config.json` and `<root>/<model>/<version>/model.onnx`.
///
/// Requests name models, but lookups only ever consult this in-memory index: no client-supplied
/// string reaches the file system, which closes the path-traversal class of bugs by design.
final class ModelRepository: Sendable {
    /// A model directory and what became of its versions.
    struct Entry: Sendable {
        var name: String
        var config: ModelConfig
        /// Who may call the model: its `access` section, else the server's default. Decided
        /// even when loading fails, so that only those callers learn why the model is not ready.
        var access: AccessPolicy
        /// Loaded versions, ascending.
        var versions: [ServedModel]
        /// Why versions or the config failed to load; such a model is listed but not ready.
        var failures: [String]

        var isReady: Bool { !versions.isEmpty }
        var latest: ServedModel? { versions.last }
    }

    let root: String
    let entries: [String: Entry]

    /// Names a model directory may have: no separators, no leading dot.
    static func isValidModelName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), let first = name.utf8.first, first != UInt8(ascii: ".") else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    /// Scans and loads the repository. A model that fails to load is kept as not ready with its
    /// reasons, so one bad model never stops the others from being served.
    /// - Parameter defaultDeny: Whether a model without an `access` section is callable by
    ///   nobody (`--default-deny`) instead of by any authenticated caller.
    init(root: String, pool: ComputePool, defaultDeny: Bool = false) throws(ModelRepositoryError) {
        self.root = root
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelRepositoryError("model repository \(root) is not a directory")
        }
        let names: [String]
        do { names = try fileManager.contentsOfDirectory(atPath: root).sorted() } catch {
            throw ModelRepositoryError("cannot list \(root): \(error.localizedDescription)")
        }
        var entries: [String: Entry] = [:]
        for name in names {
            let directory = root + "/" + name
            guard fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard Self.isValidModelName(name) else {
                ServerLog.warning("skipping \(directory): not a valid model name")
                continue
            }
            entries[name] = Self.loadEntry(name: name, directory: directory, pool: pool,
                                           defaultAccess: defaultDeny ? .nobody : .anyAuthenticatedCaller)
        }
        self.entries = entries
    }

    private static func loadEntry(name: String, directory: String, pool: ComputePool, defaultAccess: AccessPolicy) -> Entry {
        var entry = Entry(name: name, config: ModelConfig(), access: defaultAccess, versions: [], failures: [])
        let configPath = directory + "/config.json"
        if FileManager.default.fileExists(atPath: configPath) {
            let object: [String: Any]
            do { object = try ModelConfig.jsonObject(contentsOf: configPath) } catch {
                // Whether the file meant to restrict callers cannot be known: fail closed.
                entry.access = .nobody
                return failed(entry, error)
            }
            do { entry.config = try ModelConfig(object: object, path: configPath) } catch {
                // A valid policy still decides who may learn why the model is not ready; a
                // malformed one cannot say who was meant, so nobody may call the model.
                if let section = object["access"] {
                    entry.access = (try? AccessPolicy(section: section, context: configPath)) ?? .nobody
                }
                return failed(entry, error)
            }
            entry.access = entry.config.access ?? defaultAccess
        }
        let children = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let versions = children.compactMap { child -> UInt64? in
            guard child.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let version = UInt64(child), version > 0 else { return nil }
            return version
        }.sorted()
        if versions.isEmpty { entry.failures.append("no version directories (expected \(directory)/<n>/model.onnx)") }
        for version in versions {
            let path = "\(directory)/\(version)/model.onnx"
            do {
                // Every output type the protocol can carry (int64 labels, bool masks), not only float32.
                let engine = try Model(contentsOf: path, options: entry.config.engineOptions)
                entry.versions.append(try ServedModel(name: name, version: version, config: entry.config, engine: engine, pool: pool))
                ServerLog.info("loaded model '\(name)' version \(version)")
            } catch {
                entry.failures.append("version \(version): \(error)")
                ServerLog.error("model '\(name)' version \(version) not served: \(error)")
            }
        }
        return entry
    }

    private static func failed(_ entry: Entry, _ error: ModelRepositoryError) -> Entry {
        var entry = entry
        entry.failures.append(error.description)
        ServerLog.error("model '\(entry.name)' not served: \(error)")
        return entry
    }

    /// The model version a request asks for, once `caller` may use the model; 0 means the
    /// latest loaded version.
    ///
    /// Access is checked before readiness, so a caller the policy excludes learns neither why
    /// a model is unready nor which versions it has. A denial is counted as a
    /// PERMISSION_DENIED outcome of the version asked for (the latest when that does not exist).
    func resolve(name: String, version: UInt64, for caller: CallerIdentity) throws(Status) -> ServedModel {
        guard let entry = entries[name] else { throw Status(.notFound, "model '\(name)' is not in the repository") }
        try Self.authorize(caller, for: entry, version: version)
        guard let latest = entry.latest else {
            throw Status(.unavailable, "model '\(name)' is not ready: \(entry.failures.joined(separator: "; "))")
        }
        if version == 0 { return latest }
        guard let served = entry.versions.first(where: { $0.version == version }) else {
            throw Status(.notFound, "model '\(name)' has no version \(version)")
        }
        return served
    }

    /// Throws PERMISSION_DENIED (and counts it) unless `caller` may use `entry`'s model. The
    /// message names the model, never the policy: who is allowed is not the caller's business.
    static func authorize(_ caller: CallerIdentity, for entry: Entry, version: UInt64 = 0) throws(Status) {
        guard !entry.access.permits(caller) else { return }
        (entry.versions.first { $0.version == version } ?? entry.latest)?.recordOutcome(.permissionDenied)
        throw Status(.permissionDenied, "this caller may not use model '\(entry.name)'")
    }

    /// The entries `caller` may use, sorted by name: all that ListModels and Stats show it.
    func entries(visibleTo caller: CallerIdentity) -> [Entry] {
        entries.values.filter { $0.access.permits(caller) }.sorted { $0.name < $1.name }
    }

    /// True when every model in the repository has a loaded version.
    var allReady: Bool { entries.values.allSatisfy(\.isReady) }
}
