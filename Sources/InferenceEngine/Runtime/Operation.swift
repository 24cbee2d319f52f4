/// A node after load-time validation: operator, checked attributes and value slots.
///
/// Kept as a closed enum with plain data so that the later optimizer can pattern-match and
/// rewrite it (fusion, constant folding) and a scheduler can inspect it.
enum Operation: Sendable {
    case binary(BinaryOperator)
    case unary(UnaryOperator)
    case identity
    case matMul
    case gemm(GemmAttributes)
    /// Softmax along `axis` (already normalised to be non-negative). `coerceTo2D` selects the
    /// opset < 13 semantics: flatten to `[prod(dims[..<axis]), prod(dims[axis...])]` first.
    case softmax(axis: Int, coerceTo2D: Bool)
    /// Flatten at a non-negative axis in `0...rank`.
    case flatten(axis: Int)
    /// Reshape with the constant target shape (v0 requires the shape to be an initializer or
    /// Constant).
    case reshape(shape: [Int64], allowZero: Bool)
    /// Every other operator: a compiled kernel value with its checked attributes.
    case kernel(any NodeKernel)
}

/// A compiled operator. `run` gets the node's inputs (nil for omitted optional ones) and
/// returns one tensor per declared output.
protocol NodeKernel: Sendable {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor]

    /// The kernel bound to the shapes of one ``ShapePlan``; nil keeps the graph on the general
    /// executor for those shapes. `outputs` are the shapes the general executor computed for
    /// these inputs (nil for an output nothing reads). Inputs whose contents decide the output
    /// shape (a Reshape target, Slice starts) must be ``PlanValue/constant``, or the kernel
    /// returns nil: the plan is reused for every request of these input shapes.
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding?
}

/// One executable node.
struct CompiledNode: Sendable {
    /// Node name for error messages (`#index` if the model left it empty).
    var name: String
    var opType: String
    var operation: Operation
    /// Value slots of the inputs; -1 marks an omitted optional input.
    var inputs: [Int]
    var outputs: [Int]
    /// Load-time shapes of the outputs; debug builds check every run against them.
    var inferred: [InferredShape?] = []
}
