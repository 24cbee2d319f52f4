/// Resource limits applied while reading an untrusted ONNX file.
///
/// They are far above what real inference models need, but low enough that a crafted file
/// cannot make the loader allocate unbounded memory or spend unbounded time. All are checked
/// before the corresponding allocation.
enum ONNXLimits {
    /// Largest model file accepted (protobuf itself cannot exceed 2 GiB).
    static let maxFileBytes = 2 << 30
    /// Nodes in the main graph.
    static let maxNodes = 100_000
    /// Initializers in the main graph.
    static let maxInitializers = 100_000
    /// Entries in each of graph input / output / value_info.
    static let maxGraphValues = 100_000
    /// Inputs or outputs of a single node.
    static let maxNodeArity = 1_024
    /// Attributes of a single node.
    static let maxAttributes = 256
    /// Values in a repeated attribute (ints, floats, strings).
    static let maxAttributeValues = 1 << 20
    /// opset_import entries.
    static let maxOpsetImports = 64
    /// Rank of any tensor or declared shape.
    static let maxRank = 8
    /// Elements of a single tensor (also bounded by the bytes actually present in the file).
    static let maxTensorElements = 1 << 31
    /// Elements of a tensor computed from request data or at load (ConstantOfShape, Expand, Tile,
    /// Pad, Range, Conv/pool outputs ...): 128 Mi elements (512 MiB of float32), so a hostile
    /// model or request cannot make one node allocate without bound.
    static let maxComputedElements = 1 << 27
    /// Bytes in a name, producer string or attribute string.
    static let maxStringBytes = 1 << 16
    /// Levels of subgraphs (If branches, Loop and Scan bodies) inside subgraphs. Exporters nest
    /// two or three deep; the bound keeps the parser's and the compiler's recursion shallow.
    static let maxSubgraphNesting = 6
    /// Iterations of one Loop or Scan node in one run. A model controls its loop condition
    /// and trip count, so without a bound a hostile or broken model could spin forever;
    /// reaching it fails the request as invalid rather than hanging a compute thread.
    static let maxLoopIterations = 1 << 18
}
