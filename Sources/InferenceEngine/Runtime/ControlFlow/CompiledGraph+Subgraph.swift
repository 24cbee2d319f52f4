/// Running a compiled If branch or Loop/Scan body on behalf of its control-flow node.
extension CompiledGraph {
    /// Executes the subgraph with `inputs` (formal inputs, then captured outer values) and
    /// checks it returned `outputCount` values. Errors name the node and the subgraph, so a
    /// failure deep in a loop body still says which loop it came from.
    func run(asSubgraph attribute: String, of node: NodeExecutor, _ inputs: [Tensor], outputCount: Int) throws(InferenceError) -> [Tensor] {
        let where_ = "node '\(node.node.name)' (\(node.node.opType)) > \(attribute)"
        let outputs: [Tensor]
        do {
            outputs = try execute(inputs)
        } catch {
            switch error {
            case .invalidInput(let message): throw .invalidInput("\(where_): \(message)")
            case .internalFailure(let message): throw .internalFailure("\(where_): \(message)")
            }
        }
        guard outputs.count == outputCount else {
            throw .internalFailure("\(where_) returned \(outputs.count) values, expected \(outputCount)")
        }
        return outputs
    }

    /// The single element of a condition or trip count (ONNX allows shape `[]` or `[1]`).
    static func single(_ tensor: Tensor, _ what: String, of node: NodeExecutor) throws(InferenceError) -> Int64 {
        guard tensor.elementCount == 1 else {
            throw node.invalid("\(what) must hold exactly one element, got shape \(tensor.shape.shapeDescription)")
        }
        return tensor.storage.int64Values[0]
    }
}
