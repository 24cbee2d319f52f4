import Foundation

/// A model's `config.json`: how the repository should serve it.
///
/// Unknown keys are rejected rather than ignored, so a typo in a setting a user relies on
/// fails loudly at load instead of silently doing nothing.
struct ModelConfig: Sendable, Equatable {
    /// Model format; only "onnx" exists today.
    var platform = "onnx"
    /// Human-readable summary shown by tools.
    var description = ""

    static let knownKeys: Set<String> = ["platform", "description", "inputs_doc", "outputs_doc"]
    static let maxFileSize = 1 << 20

    init() {}

    init(contentsOf path: String) throws(ModelRepositoryError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelRepositoryError("cannot read \(path)")
        }
        guard data.count <= Self.maxFileSize else { throw ModelRepositoryError("\(path) is larger than 1 MiB") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelRepositoryError("\(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let dictionary = object as? [String: Any] else { throw ModelRepositoryError("\(path) must hold a JSON object") }
        let unknown = Set(dictionary.keys).subtracting(Self.knownKeys)
        guard unknown.isEmpty else {
            throw ModelRepositoryError("\(path): unknown setting(s) \(unknown.sorted().joined(separator: ", "))")
        }
        if let platform = dictionary["platform"] {
            guard let platform = platform as? String, platform == "onnx" else {
                throw ModelRepositoryError("\(path): platform must be \"onnx\"")
            }
            self.platform = platform
        }
        if let description = dictionary["description"] {
            guard let description = description as? String else { throw ModelRepositoryError("\(path): description must be a string") }
            self.description = description
        }
    }
}

/// Why a model or the repository could not be loaded.
struct ModelRepositoryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
