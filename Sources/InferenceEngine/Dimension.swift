/// One dimension of a declared tensor shape.
public enum Dimension: Sendable, Hashable, CustomStringConvertible {
    /// A dimension whose size is fixed by the model (ONNX `dim_value`).
    case fixed(Int)
    /// A dimension named by the model (ONNX `dim_param`, e.g. `"batch"`), chosen per request.
    /// Every occurrence of the same name across the model inputs must get the same size.
    case symbolic(String)

    /// The size for ``fixed``, the name for ``symbolic``.
    public var description: String {
        switch self {
        case .fixed(let size): String(size)
        case .symbolic(let name): name
        }
    }
}

extension Array where Element == Dimension {
    /// `[batch, 10]`, the form used in error messages.
    var shapeDescription: String { "[" + map(\.description).joined(separator: ", ") + "]" }
}

extension Array where Element == Int {
    /// `[3, 10]`, the form used in error messages.
    var shapeDescription: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}
