/// What a `.gemm` node computes: ONNX Gemm's attributes, B packed at load when it is constant,
/// and the fusions the optimizer folds into the kernel's epilogue.
///
/// `Y = act(alpha·A'·B' + beta·C (+ residual, if before)) (+ residual, if after)`, with inputs
/// `[A, B, C?, residual?]`.
struct GemmAttributes: Sendable {
    var alpha: Float
    var beta: Float
    var transA: Bool
    var transB: Bool
    /// B in `[K, N]` orientation (already un-transposed), packed for the micro-kernel, when B is
    /// a constant; input 1 is then not read.
    var packedB: PackedMatrix?
    /// Applied to every output element after bias (and a residual added before it).
    var activation: EpilogueActivation
    /// The node has a 4th input of Y's shape, added to the output in the epilogue.
    var residual: Bool
    /// `true`: the residual is added before ``activation`` (ResNet), else after (transformer).
    var residualBeforeActivation: Bool
    /// A may have any rank ≥ 1 and is treated as `[prod(leading dims), K]`; Y gets the shape
    /// `leading dims + [N]`. This is how `MatMul(x, W)` with a 3-D x (and a following bias Add)
    /// becomes one GEMM. Not combinable with ``transA``.
    var flattenA: Bool

    /// - Parameter constantB: B's value when it is a constant (an initializer), as stored in
    ///   the model (`[N, K]` when `transB`); packed here once. Nil when B is computed per run,
    ///   or when it is not a 2-D float tensor.
    init(alpha: Float = 1, beta: Float = 1, transA: Bool = false, transB: Bool = false, constantB: Tensor? = nil,
         activation: EpilogueActivation = .none, residual: Bool = false, residualBeforeActivation: Bool = false,
         flattenA: Bool = false) {
        self.alpha = alpha
        self.beta = beta
        self.transA = transA
        self.transB = transB
        self.packedB = constantB.flatMap { PackedMatrix.packing($0, transposed: transB) }
        self.activation = activation
        self.residual = residual
        self.residualBeforeActivation = residualBeforeActivation
        self.flattenA = flattenA
    }
}
