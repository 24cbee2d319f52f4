/// One node of a loaded model's execution plan (see ``Model/executionPlan``).
public struct PlannedNode: Sendable, Equatable {
    /// The node's name; a fused node is named after its first part followed by the fused
    /// operator types, e.g. `/layer/Div (Div+Erf+Add+Mul+Mul)`.
    public let name: String
    /// The operator, or the fused kernel: `Attention`, `AddLayerNormalization`,
    /// `FusedElementwise`, `Gelu`, `LayerNormalization` (from a decomposed one) ...
    public let opType: String
    /// The node depends only on input shapes; its result is cached per input shape.
    public let shapeOnly: Bool
}
