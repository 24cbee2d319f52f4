#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loaded, validated ONNX model ready to serve requests.
///
/// Loading parses the file with a bounded protobuf reader, checks every node (operator,
/// attributes, topological order, static shapes) and pre-transposes constant Gemm weights. A
/// model that loads is one the engine can run exactly; anything else is refused with a
/// ``ModelLoadError`` naming the problem.
///
/// `Model` is immutable after `init` (apart from an internal, mutex-guarded cache of the values
/// that depend only on input shapes), so ``run(_:)`` may be called from many threads at once.
public final class Model: Sendable {
    /// The model inputs (graph inputs that are not initializers), in graph order.
    public let inputs: [ValueInfo]
    /// The model outputs, in graph order; ``run(_:)`` returns tensors in this order.
    public let outputs: [ValueInfo]
    /// `ModelProto.producer_name` (e.g. `pytorch`).
    public let producerName: String
    /// Version of the default (`ai.onnx`) operator set the model imports; 0 for a model that
    /// imports only `ai.onnx.ml`.
    public let opsetVersion: Int
    /// `ModelProto.ir_version`.
    public let irVersion: Int
    /// `ModelProto.producer_version`.
    public let producerVersion: String
    /// Every `opset_import`, domain (`""` for the default) → version.
    public let opsetImports: [String: Int]
    /// Distinct external data files the weights were read from.
    public let externalDataLocations: [String]
    /// The options the model was loaded with.
    public let options: ModelOptions
    /// How many rounds each optimizer pass changed the graph (`["attention-fusion": 1, ...]`).
    public let optimizationReport: [String: Int]

    /// The nodes that run, in order, after optimization: fused nodes are named after the
    /// nodes they replaced (`first-node-name (MatMul+Add+Gelu)`).
    public var executionPlan: [PlannedNode] {
        graph.steps.map { PlannedNode(name: $0.node.name, opType: $0.node.opType, shapeOnly: $0.shapeOnly) }
    }

    private let histogram: [String: Int]
    private let subgraphHistogram: [String: Int]
    private let parameters: Int
    private let graph: CompiledGraph
    /// Workers for large operators when ``ModelOptions/intraOpThreads`` > 1.
    private let intraOpPool: IntraOpPool?

    /// Default-domain opsets whose semantics the engine implements for all supported operators.
    public static let supportedOpsets: ClosedRange<Int> = 11...21

    /// Number of nodes per operator type (`["Gemm": 3, "Relu": 2, ...]`), as in the file,
    /// counting the nodes inside subgraphs (If branches, Loop and Scan bodies) too.
    public var operatorHistogram: [String: Int] { histogram }

    /// The part of ``operatorHistogram`` inside subgraphs.
    public var subgraphOperatorHistogram: [String: Int] { subgraphHistogram }

    /// Total number of elements in all initializers.
    public var parameterCount: Int { parameters }

    /// Every element type a model output can have: pass it as `outputTypes` when the caller can
    /// return int64, int32 and bool tensors (labels, indices, masks) as well as float32.
    public static let allOutputTypes: Set<ElementType> = [.float32, .int64, .int32, .bool]

    /// Reads and loads the model at `path`, accepting float32 outputs only.
    ///
    /// Float32-only is the safe default for callers written when every output was float32 (they
    /// label outputs FP32 and size them at 4 bytes per element); use
    /// ``init(contentsOf:outputTypes:)`` with ``allOutputTypes`` to load models whose outputs
    /// are int64/int32/bool. Inputs of all four types are accepted either way.
    public convenience init(contentsOf path: String) throws(ModelLoadError) {
        try self.init(contentsOf: path, outputTypes: [.float32])
    }

    /// Reads and loads the model at `path`; outputs of an element type outside `outputTypes`
    /// are refused at load, naming the output.
    ///
    /// Files larger than 2 GiB are refused before reading. External data files are resolved
    /// strictly inside the file's directory.
    public convenience init(contentsOf path: String, outputTypes: Set<ElementType>) throws(ModelLoadError) {
        try self.init(contentsOf: path, options: ModelOptions(outputTypes: outputTypes))
    }

    /// Reads and loads the model at `path` with the given output types, optimization level and
    /// intra-op thread count.
    public convenience init(contentsOf path: String, options: ModelOptions) throws(ModelLoadError) {
        let bytes = try Self.readFile(path)
        var directory: String? = nil
        if let slash = path.lastIndex(of: "/") { directory = String(path[..<slash]) }
        try self.init(bytes: bytes, modelDirectory: directory ?? ".", options: options)
    }

    /// Loads a model from its serialized `ModelProto` bytes, accepting float32 outputs only
    /// (see ``init(contentsOf:)``).
    public convenience init(bytes: [UInt8], modelDirectory: String?) throws(ModelLoadError) {
        try self.init(bytes: bytes, modelDirectory: modelDirectory, outputTypes: [.float32])
    }

    /// Loads a model from its serialized `ModelProto` bytes.
    ///
    /// - Parameter modelDirectory: the directory external data `location`s are resolved in
    ///   (strictly inside it: absolute paths, `..` and symlinks leaving it are refused); `nil`
    ///   refuses models with external data.
    /// - Parameter outputTypes: the output element types the caller can handle; any other
    ///   output type is a load error naming the output.
    public convenience init(bytes: [UInt8], modelDirectory: String?, outputTypes: Set<ElementType>) throws(ModelLoadError) {
        try self.init(bytes: bytes, modelDirectory: modelDirectory, options: ModelOptions(outputTypes: outputTypes))
    }

    /// Loads a model from its serialized `ModelProto` bytes with explicit ``ModelOptions``.
    public init(bytes: [UInt8], modelDirectory: String?, options: ModelOptions) throws(ModelLoadError) {
        let outputTypes = options.outputTypes
        guard bytes.count <= ONNXLimits.maxFileBytes else {
            throw ModelLoadError("model is \(bytes.count) bytes; the limit is \(ONNXLimits.maxFileBytes)")
        }
        let proto = try ONNXModelParser.parseModel(bytes)
        guard let graphProto = proto.graph else { throw ModelLoadError("model has no graph") }

        var imported: Int64?
        for entry in proto.opsetImports where entry.domain.isEmpty || entry.domain == "ai.onnx" {
            imported = entry.version
        }
        let usesDefaultDomain = graphProto.nodes.contains { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        if imported == nil && usesDefaultDomain {
            throw ModelLoadError("model does not import the default ONNX opset (opset_import for domain '')")
        }
        let importsDefault = imported != nil
        let opset = imported ?? Int64(Self.supportedOpsets.upperBound)   // only ai.onnx.ml nodes: any opset will do
        guard opset >= Int64(Self.supportedOpsets.lowerBound), opset <= Int64(Self.supportedOpsets.upperBound) else {
            throw ModelLoadError("default-domain opset \(opset) is not supported (supported: opsets \(Self.supportedOpsets.lowerBound)...\(Self.supportedOpsets.upperBound))")
        }

        // Every unsupported operator is reported at once, each with the node using it.
        let unsupported = Self.unsupportedNodes(graphProto)
        if !unsupported.isEmpty {
            throw ModelLoadError(unsupported.map(\.description).joined(separator: ", ")
                                 + "; supported operators: " + OperatorCompiler.supportedOperators.joined(separator: ", "))
        }
        let result = try GraphCompiler(graph: graphProto, opset: Int(opset), modelDirectory: modelDirectory).compile()
        var imports: [String: Int] = [:]
        for entry in proto.opsetImports { imports[entry.domain == "ai.onnx" ? "" : entry.domain] = Int(clamping: entry.version) }
        var locations: [String] = []
        for t in graphProto.initializers {
            for (k, v) in t.externalData where k == "location" && !locations.contains(v) { locations.append(v) }
        }
        self.producerVersion = proto.producerVersion
        self.opsetImports = imports
        self.externalDataLocations = locations
        let (histogram, subgraphHistogram) = Self.operatorHistograms(graphProto)

        for output in result.outputs where !outputTypes.contains(output.elementType) {
            throw ModelLoadError("graph output '\(output.name)' has element type \(output.elementType.onnxName); "
                                 + "this caller accepts \(outputTypes.map(\.onnxName).sorted().joined(separator: ", ")) outputs")
        }
        self.inputs = result.inputs
        self.outputs = result.outputs
        self.producerName = proto.producerName
        self.opsetVersion = importsDefault ? Int(opset) : 0
        self.irVersion = Int(clamping: proto.irVersion)
        self.histogram = histogram
        self.subgraphHistogram = subgraphHistogram
        self.parameters = result.parameterCount
        let optimized = try GraphOptimizer(level: options.optimization).optimize(result.compiled)
        self.graph = optimized.graph
        self.optimizationReport = optimized.report.applied
        self.options = options
        self.intraOpPool = options.intraOpThreads > 1 ? IntraOpPool(threadCount: options.intraOpThreads) : nil
    }

    /// Runs the graph.
    ///
    /// - Parameter inputs: maps every model input name to a tensor of the input's element type
    ///   (``ValueInfo/elementType``: float32, int64, int32 or bool) whose shape matches
    ///   the declared one (rank, fixed dims; a symbolic dim such as `batch` must have the same
    ///   size everywhere it appears).
    /// - Returns: the model outputs, in ``outputs`` order.
    /// - Throws: ``InferenceError/invalidInput(_:)`` naming the input and the expected versus
    ///   received shape, or the node where request shapes turned out inconsistent.
    public func run(_ inputs: [String: Tensor]) throws(InferenceError) -> [Tensor] {
        try run(ordered(inputs))
    }

    /// Runs the graph on inputs given in ``inputs`` order (the same checks as
    /// ``run(_:)-(([String:Tensor]))``, without building a dictionary per request).
    public func run(_ inputs: [Tensor]) throws(InferenceError) -> [Tensor] {
        var outputs: [Tensor] = []
        try run(inputs, into: &outputs)
        return outputs
    }

    /// Runs the graph on inputs in ``inputs`` order, writing into `outputs` in place when they
    /// already have the output shapes and types and nothing else shares them (else replacing
    /// them): with the input shapes' plan made (see ``ModelOptions/plannedExecution``), this
    /// allocates nothing. ``InferenceSession`` wraps it.
    func run(_ inputs: [Tensor], into outputs: inout [Tensor]) throws(InferenceError) {
        let context = ExecutionContext(pool: intraOpPool)
        // A plan exists only for input shapes an earlier run validated, so matching one (and
        // the element types) is the whole check.
        if options.plannedExecution, inputs.count == self.inputs.count,
           zip(inputs, self.inputs).allSatisfy({ $0.elementType == $1.elementType }),
           case .plan(let plan)? = graph.plans.lookup(inputs) {
            if !plan.fitsOutputs(outputs) { outputs = plan.makeOutputs() }
            try plan.run(inputs, into: &outputs, context: context)
            return
        }
        let sizes = try validate(inputs)
        if options.plannedExecution {
            try graph.run(inputs, into: &outputs, symbols: sizes, context: context)
        } else {
            outputs = try graph.execute(inputs, symbols: sizes, context: context)
        }
    }

    /// Times every node of the execution plan for these inputs' shapes over `runs` runs (after
    /// one run that makes the plan), for finding where a model's latency goes.
    ///
    /// Nodes that only depend on input shapes were computed when the plan was made, and nodes
    /// that only reinterpret their input (Reshape, Squeeze and the like) are views in a plan:
    /// neither appears. The clock readings around each node add a few tens of nanoseconds per node, so
    /// the sum is a little above the latency of an unprofiled run.
    ///
    /// - Returns: one entry per planned node, in execution order.
    /// - Throws: ``InferenceError/invalidInput(_:)`` for inputs ``run(_:)-(([String:Tensor]))``
    ///   refuses, and when these shapes run without a plan (``planStatus(for:)`` says why).
    public func profile(_ inputs: [String: Tensor], runs: Int) throws(InferenceError) -> [NodeTiming] {
        let ordered = try ordered(inputs)
        var outputs = try run(ordered)
        guard options.plannedExecution, case .plan(let plan)? = graph.planEntry(for: ordered) else {
            throw .invalidInput("these input shapes run without an execution plan (\(planStatus(for: inputs))), so there is no per-node profile")
        }
        let totals = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, plan.steps.count))
        defer { totals.deallocate() }
        totals.initialize(repeating: 0, count: max(1, plan.steps.count))
        let context = ExecutionContext(pool: intraOpPool)
        for _ in 0..<max(1, runs) {
            try plan.run(ordered, into: &outputs, context: context, stepNanoseconds: totals)
        }
        return plan.steps.enumerated().map { index, step in
            NodeTiming(name: step.name, opType: step.opType, microsecondsPerRun: Double(totals[index]) / Double(max(1, runs)) / 1000)
        }
    }

    /// Whether runs with these inputs' shapes go through an execution plan (see
    /// ``ModelOptions/plannedExecution``), and if not, why.
    public func planStatus(for inputs: [String: Tensor]) -> ExecutionPlanStatus {
        guard options.plannedExecution else { return .disabled }
        guard let ordered = try? ordered(inputs) else { return .notYetPlanned }
        switch graph.planEntry(for: ordered) {
        case .plan(let plan)?: return .planned(nodes: plan.steps.count, arenaBytes: plan.arenaBytes)
        case .refused(_, let refusal)?: return .unplanned(reason: refusal.description)
        case nil: return .notYetPlanned
        }
    }

    /// The inputs in ``inputs`` order, refusing unknown and missing names.
    private func ordered(_ inputs: [String: Tensor]) throws(InferenceError) -> [Tensor] {
        for name in inputs.keys where !self.inputs.contains(where: { $0.name == name }) {
            throw .invalidInput("unknown input '\(name)'; the model inputs are \(self.inputs.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        var ordered: [Tensor] = []
        ordered.reserveCapacity(self.inputs.count)
        for info in self.inputs {
            guard let tensor = inputs[info.name] else {
                throw .invalidInput("missing input '\(info.name)' (expected shape \(info.dimensions.shapeDescription))")
            }
            ordered.append(tensor)
        }
        return ordered
    }

    /// Checks element types and shapes against the declared inputs; returns the sizes of the
    /// symbolic dimensions (only debug builds collect them, to check inferred shapes).
    private func validate(_ inputs: [Tensor]) throws(InferenceError) -> [String: Int] {
        guard inputs.count == self.inputs.count else {
            throw .invalidInput("expected \(self.inputs.count) inputs (\(self.inputs.map { "'\($0.name)'" }.joined(separator: ", "))), got \(inputs.count)")
        }
        // Symbols seen so far: a model has one or two (batch, sequence), so a short array is
        // cheaper per request than a dictionary.
        var symbols: [(symbol: String, size: Int, input: String)] = []
        for (info, tensor) in zip(self.inputs, inputs) {
            guard tensor.elementType == info.elementType else {
                throw .invalidInput("input '\(info.name)': expected element type \(info.elementType), got \(tensor.elementType)")
            }
            let shape = tensor.shape
            guard shape.count == info.dimensions.count else {
                throw .invalidInput("input '\(info.name)': expected shape \(info.dimensions.shapeDescription) (rank \(info.dimensions.count)), got \(shape.shapeDescription) (rank \(shape.count))")
            }
            for (i, dimension) in info.dimensions.enumerated() {
                switch dimension {
                case .fixed(let size) where size != shape[i]:
                    throw .invalidInput("input '\(info.name)': expected shape \(info.dimensions.shapeDescription), got \(shape.shapeDescription) (dimension \(i) must be \(size))")
                case .symbolic(let symbol):
                    if let seen = symbols.first(where: { $0.symbol == symbol }) {
                        guard seen.size == shape[i] else {
                            throw .invalidInput("input '\(info.name)': expected shape \(info.dimensions.shapeDescription), got \(shape.shapeDescription) ('\(symbol)' is \(seen.size) in input '\(seen.input)' but \(shape[i]) here)")
                        }
                    } else {
                        symbols.append((symbol, shape[i], info.name))
                    }
                default:
                    break
                }
            }
        }
        #if DEBUG
        return Dictionary(symbols.map { ($0.symbol, $0.size) }, uniquingKeysWith: { a, _ in a })
        #else
        return [:]
        #endif
    }

    /// The compiled graph, for white-box tests.
    var graphForTesting: CompiledGraph { graph }

    /// Reads a whole file with a size check before allocating.
    static func readFile(_ path: String) throws(ModelLoadError) -> [UInt8] {
        // fopen succeeds on a directory on Linux, and its "size" is then nonsense.
        var status = stat()
        if stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG {
            throw ModelLoadError("'\(path)' is not a regular file")
        }
        guard let file = fopen(path, "rb") else {
            throw ModelLoadError("cannot open model file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        guard fseeko(file, 0, SEEK_END) == 0 else { throw ModelLoadError("cannot seek in model file '\(path)'") }
        let size = Int(ftello(file))
        guard size >= 0 else { throw ModelLoadError("cannot determine the size of '\(path)'") }
        guard size <= ONNXLimits.maxFileBytes else {
            throw ModelLoadError("model file '\(path)' is \(size) bytes; the limit is \(ONNXLimits.maxFileBytes)")
        }
        rewind(file)
        var readCount = 0
        let bytes = [UInt8](uninitializedCount: size) { buffer, initialized in
            if size > 0 { readCount = fread(buffer.baseAddress!, 1, size, file) }
            initialized = readCount
        }
        guard readCount == size else { throw ModelLoadError("short read on model file '\(path)' (\(readCount) of \(size) bytes)") }
        return bytes
    }
}
