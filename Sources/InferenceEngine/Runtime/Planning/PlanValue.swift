/// What a ``ShapePlan`` knows about one value when it binds the kernels: the shape and element
/// type that every run with the plan's input shapes produces, and the contents when those are
/// the same in every such run (initializers, and values computed from the input shapes alone,
/// such as a Reshape target built by `Shape → Gather → Concat`).
struct PlanValue: Sendable {
    var shape: [Int]
    var elementType: ElementType
    /// The value itself when it does not depend on the request's data.
    var constant: Tensor?

    var elementCount: Int { ShapeMath.product(shape, 0..<shape.count) }
    var byteCount: Int { elementCount * (elementType.byteWidth ?? 4) }

    /// The constant's elements as integers (axes, shapes, indices), nil if the value is not constant.
    var constantInts: [Int64]? { constant.map { $0.storage.int64Values } }
}
