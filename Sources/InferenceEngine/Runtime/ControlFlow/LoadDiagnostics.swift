/// Collects every problem a load finds instead of stopping at the first, for
/// `Model.inspect`: a model author fixing an export wants the whole list at once.
///
/// Only the inspection pass creates one; a real load runs without it and throws at the first
/// problem, so a model that loads is never one with recorded problems. Used on one thread
/// during a single compile, hence a plain class.
final class LoadDiagnostics {
    /// One problem, tied to the node that has it.
    struct Entry: Hashable {
        enum Kind: Hashable {
            /// An attribute the operator does not support (or ONNX does not define for it).
            case unsupportedAttribute(String)
            /// Any other reason the node cannot be compiled (message as a load would give it).
            case error(String)
        }
        var kind: Kind
        var opType: String
        /// `relu1`, or `Loop 'loop1' > body > Relu 'n3'` inside a subgraph.
        var nodePath: String
    }

    private(set) var entries: [Entry] = []
    private var seen = Set<Entry>()

    /// Records `entry` once: a loop body compiled again with wider shapes finds the same
    /// problems again.
    func record(_ entry: Entry) {
        if seen.insert(entry).inserted { entries.append(entry) }
    }

    var count: Int { entries.count }

    /// The path of node `label` (op `opType`) inside the graph at `scope` (`""` for the model's
    /// graph): the bare label at the top, `scope > Op 'label'` below.
    static func nodePath(scope: String, opType: String, label: String) -> String {
        scope.isEmpty ? label : "\(scope) > \(opType) '\(label)'"
    }
}
