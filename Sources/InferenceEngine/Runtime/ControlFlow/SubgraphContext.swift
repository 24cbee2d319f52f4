/// What a subgraph (an If branch, a Loop or Scan body) sees of the graphs around it while it
/// is compiled.
///
/// ONNX lets a subgraph read any value visible in its enclosing graphs by name. The compiler
/// resolves such a name through ``outer`` when it is not defined locally: a constant is copied
/// in as a constant of the subgraph, anything else becomes a captured input that the
/// control-flow node passes in at run time (and lists among its own inputs, so the enclosing
/// graph's liveness keeps the value alive until the node has run).
struct SubgraphContext {
    /// Facts of the subgraph's formal inputs, in order, as the control-flow operator will
    /// bind them (a Loop body's iteration number, condition and loop-carried values ...).
    var inputFacts: [ValueFacts]
    /// Looks a name up in the enclosing graph, capturing it there too when that graph is
    /// itself a subgraph; nil when no enclosing graph defines it.
    var outer: (String) -> ValueFacts?
    /// `Loop 'loop1' > body`: where the subgraph sits, for messages.
    var path: String
    /// 1 for a subgraph of a node of the model's graph, 2 below that, ...
    var nesting: Int
}
