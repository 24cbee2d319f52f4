/// ONNX `If`: runs `then_branch` or `else_branch` by the single boolean condition and returns
/// that branch's outputs, whose shapes may differ between the branches.
///
/// The node's inputs are the condition followed by the outer-scope values either branch reads
/// (``ControlFlowCompiler`` appended them); each branch takes the ones it captured, by index.
struct IfKernel: NodeKernel {
    let thenBranch: CompiledGraph
    let elseBranch: CompiledGraph
    /// Node-input indices of the values each branch captured, in its captured order.
    let thenCaptured: [Int]
    let elseCaptured: [Int]
    let outputCount: Int

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let condition = try CompiledGraph.single(try node.required(inputs, 0), "the condition", of: node) != 0
        let (graph, indices, name) = condition ? (thenBranch, thenCaptured, "then_branch") : (elseBranch, elseCaptured, "else_branch")
        var captured: [Tensor] = []
        for i in indices { captured.append(try node.required(inputs, i)) }
        return try graph.run(asSubgraph: name, of: node, captured, outputCount: outputCount)
    }
}
