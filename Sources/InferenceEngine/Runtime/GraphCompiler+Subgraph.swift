/// How ``GraphCompiler`` treats a subgraph's boundary: the formal inputs a control-flow node
/// binds, and which operators exist at all (for the inspection pass).
extension GraphCompiler {
    /// The formal inputs of the subgraph being compiled, each with the facts its control-flow
    /// node binds to it; empty for the model's graph, whose inputs come from requests.
    func subgraphInputs() throws(ModelLoadError) -> [(info: ValueInfoProtoIR, facts: ValueFacts)] {
        guard let subgraph else { return [] }
        guard graph.inputs.count == subgraph.inputFacts.count else {
            throw ModelLoadError("the subgraph declares \(graph.inputs.count) inputs but its operator binds \(subgraph.inputFacts.count)")
        }
        var result: [(info: ValueInfoProtoIR, facts: ValueFacts)] = []
        for (info, facts) in zip(graph.inputs, subgraph.inputFacts) {
            guard !info.name.isEmpty else { throw ModelLoadError("a subgraph input has no name") }
            try Self.requireTensor(info, what: "subgraph input")
            if info.isTensor, info.elemType != 0, info.elemType != facts.type.onnxDataType {
                let declared = ElementType(onnxDataType: info.elemType)?.onnxName ?? "type \(info.elemType)"
                throw ModelLoadError("subgraph input '\(info.name)' is declared as \(declared) but receives \(facts.type.onnxName)")
            }
            result.append((info, facts))
        }
        return result
    }

    /// Refuses sequence, map and optional values, which the engine does not represent. A value
    /// with no type at all is accepted: subgraph values may leave it to inference.
    static func requireTensor(_ info: ValueInfoProtoIR, what: String) throws(ModelLoadError) {
        if info.hasType && !info.isTensor {
            throw ModelLoadError("\(what) '\(info.name)' is not a tensor (sequence, map and optional values are not supported)")
        }
    }
}

extension OperatorCompiler {
    /// Whether the engine implements `node`'s operator in its domain (attributes aside).
    static func implements(_ node: NodeProtoIR) -> Bool {
        if node.domain.isEmpty || node.domain == "ai.onnx" { return supportedOperatorSet.contains(node.opType) }
        return node.domain == "ai.onnx.ml" && supportedMLOperators.contains(node.opType)
    }

    static let supportedOperatorSet = Set(supportedOperators)
}
