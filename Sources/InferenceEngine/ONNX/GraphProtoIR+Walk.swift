/// Visiting every node of a graph and of all its subgraphs, for the checks and counts that
/// must see inside If branches and Loop/Scan bodies (unsupported operators, histograms).
extension GraphProtoIR {
    /// Calls `visit` for each node in file order, descending into a node's GRAPH attributes
    /// right after the node. `scope` is `""` in this graph and `Loop 'loop1' > body` (and
    /// deeper, `... > If 'n2' > then_branch`) inside subgraphs; `label` is the node name or
    /// `#index`. Recursion is bounded by the parser's nesting limit.
    func forEachNode(scope: String = "", _ visit: (_ node: NodeProtoIR, _ label: String, _ scope: String) -> Void) {
        for (index, node) in nodes.enumerated() {
            let label = node.name.isEmpty ? "#\(index)" : node.name
            visit(node, label, scope)
            for attribute in node.attributes {
                guard let subgraph = attribute.g else { continue }
                let inner = (scope.isEmpty ? "" : scope + " > ") + "\(node.opType) '\(label)' > \(attribute.name)"
                subgraph.forEachNode(scope: inner, visit)
            }
        }
    }
}
