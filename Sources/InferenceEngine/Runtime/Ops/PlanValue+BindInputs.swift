/// How a bind sees an input whose contents decide the output shape or the computation's
/// structure (Slice starts, a Reshape target, Pad pads): it may bind only when the input is
/// omitted or constant for every run of the plan's shapes.
enum BindInput {
    case omitted
    case constant([Int64])
    /// Given per request: the kernel cannot be bound for a shape alone.
    case runtime

    /// The constant's integers, `fallback` when omitted, nil when given per request.
    func ints(or fallback: [Int64]? = nil) -> [Int64]?? {
        switch self {
        case .omitted: .some(fallback)
        case .constant(let v): .some(v)
        case .runtime: nil
        }
    }
}

extension Array where Element == PlanValue? {
    /// What the plan knows of input `index`'s contents.
    func bindInput(_ index: Int) -> BindInput {
        guard index < count, let value = self[index] else { return .omitted }
        return value.constantInts.map { .constant($0) } ?? .runtime
    }
}
