/// What a model file contains, for `tensorwire model inspect`: computed from the bytes without
/// requiring the model to be servable, so unsupported operators are listed rather than thrown.
public struct ModelInspection: Sendable {
    /// A node whose operator the engine does not implement.
    public struct UnsupportedNode: Sendable, Hashable, CustomStringConvertible {
        /// `op_type`, prefixed with the domain for non-default domains (`com.microsoft.FusedGemm`).
        public var opType: String
        /// The node name, or `#index` when the file leaves it empty.
        public var nodeName: String
        /// Where the node's graph sits: `""` in the model's graph, `Loop 'loop1' > body` inside
        /// a subgraph.
        public var scope: String = ""
        /// `nonzero1`, or `Loop 'loop1' > body > NonZero 'n3'` inside a subgraph.
        public var nodePath: String { LoadDiagnostics.nodePath(scope: scope, opType: opType, label: nodeName) }
        /// `unsupported operator 'Einsum' (node 'einsum1')`, or with the node path inside a
        /// subgraph: `unsupported operator 'Foo' (node Loop 'loop1' > body > Foo 'n3')`.
        public var description: String {
            scope.isEmpty ? "unsupported operator '\(opType)' (node '\(nodeName)')" : "unsupported operator '\(opType)' (node \(nodePath))"
        }
    }

    /// An attribute the engine does not support on a node whose operator it implements.
    public struct UnsupportedAttribute: Sendable, Hashable, CustomStringConvertible {
        public var attribute: String
        public var opType: String
        /// `relu1`, or `Loop 'loop1' > body > Relu 'n3'` inside a subgraph.
        public var nodePath: String
        /// `unsupported attribute 'foo' of LayerNormalization (node 'ln1')`.
        public var description: String { "unsupported attribute '\(attribute)' of \(opType) (node \(nodePath.contains(" > ") ? nodePath : "'\(nodePath)'"))" }
    }

    /// Graph inputs that are not initializers, as declared (element types the engine cannot
    /// hold are still listed). When the model loads, these are ``Model/inputs``.
    public var inputs: [ValueInfo]
    /// Graph outputs; with inferred shapes when the model loads, as declared otherwise.
    public var outputs: [ValueInfo]
    /// `ModelProto.ir_version`.
    public var irVersion: Int
    /// The default-domain (`ai.onnx`) opset, if imported.
    public var opsetVersion: Int?
    /// Every `opset_import`, domain (`""` for the default) → version.
    public var opsetImports: [String: Int]
    /// `ModelProto.producer_name` / `producer_version` (e.g. `pytorch`, `2.13.0`).
    public var producerName: String
    public var producerVersion: String
    /// Number of nodes per operator type, as in the file, counting the nodes inside subgraphs
    /// (If branches, Loop and Scan bodies) too.
    public var operatorHistogram: [String: Int]
    /// The part of ``operatorHistogram`` inside subgraphs (empty for a model without any).
    public var subgraphOperatorHistogram: [String: Int] = [:]
    /// Number of nodes in the model's graph and all its subgraphs.
    public var nodeCount: Int
    /// Total number of elements in all initializers (from their declared dims; external data is
    /// not read for this).
    public var parameterCount: Int
    /// Distinct external data `location`s the initializers refer to.
    public var externalDataLocations: [String]
    /// Nodes whose operator is not implemented, in graph order, subgraphs included (each right
    /// after the node that holds it).
    public var unsupportedNodes: [UnsupportedNode]
    /// Unsupported attributes of nodes whose operator is implemented, subgraphs included.
    /// Nodes that read the output of an unsupported node are not checked.
    public var unsupportedAttributes: [UnsupportedAttribute] = []
    /// Other reasons particular nodes cannot load (bad attribute values, shape mismatches ...),
    /// each message naming its node; found by the same pass as ``unsupportedAttributes``.
    public var nodeProblems: [String] = []
    /// Why the model cannot be served (the ``ModelLoadError`` message a load gives), or `nil`
    /// when it loads.
    public var loadError: String?
    /// `true` when ``Model/init(bytes:modelDirectory:)`` accepts the model.
    public var isServable: Bool { loadError == nil }
}

extension Model {
    /// Inspects the model file at `path` (external data is resolved in its directory).
    ///
    /// Throws only when the file cannot be read or is not an ONNX model at all (malformed
    /// protobuf, no graph); everything else, including unsupported operators, is reported in the
    /// returned value.
    public static func inspect(contentsOf path: String) throws(ModelLoadError) -> ModelInspection {
        let bytes = try readFile(path)
        var directory = "."
        if let slash = path.lastIndex(of: "/") { directory = String(path[..<slash]) }
        return try inspect(bytes: bytes, modelDirectory: directory)
    }

    /// Inspects serialized `ModelProto` bytes; see ``inspect(contentsOf:)``.
    public static func inspect(bytes: [UInt8], modelDirectory: String?) throws(ModelLoadError) -> ModelInspection {
        guard bytes.count <= ONNXLimits.maxFileBytes else {
            throw ModelLoadError("model is \(bytes.count) bytes; the limit is \(ONNXLimits.maxFileBytes)")
        }
        let proto = try ONNXModelParser.parseModel(bytes)
        guard let graph = proto.graph else { throw ModelLoadError("model has no graph") }
        var imports: [String: Int] = [:]
        for entry in proto.opsetImports { imports[entry.domain == "ai.onnx" ? "" : entry.domain] = Int(clamping: entry.version) }
        let (histogram, subgraphHistogram) = operatorHistograms(graph)
        var parameters = 0
        var locations: [String] = []
        for t in graph.initializers {
            var n = 1
            for d in t.dims { n = n.multipliedReportingOverflow(by: Int(clamping: Swift.max(d, 0))).partialValue }
            parameters = parameters.addingReportingOverflow(n).partialValue
            for (k, v) in t.externalData where k == "location" && !locations.contains(v) { locations.append(v) }
        }
        let initializerNames = Set(graph.initializers.map(\.name))
        func describe(_ info: ValueInfoProtoIR) -> ValueInfo {
            let type = ElementType(onnxDataType: info.elemType) ?? .float32
            let dims: [Dimension] = (info.dims ?? []).enumerated().map { i, d in
                switch d {
                case .value(let v): .fixed(Int(clamping: v))
                case .param(let p) where !p.isEmpty: .symbolic(p)
                default: .symbolic("\(info.name)_dim\(i)")
                }
            }
            return ValueInfo(name: info.name, elementType: type, dimensions: dims)
        }
        var inspection = ModelInspection(
            inputs: graph.inputs.filter { !initializerNames.contains($0.name) }.map(describe),
            outputs: graph.outputs.map(describe),
            irVersion: Int(clamping: proto.irVersion), opsetVersion: imports[""], opsetImports: imports,
            producerName: proto.producerName, producerVersion: proto.producerVersion,
            operatorHistogram: histogram, subgraphOperatorHistogram: subgraphHistogram, nodeCount: histogram.values.reduce(0, +),
            parameterCount: parameters, externalDataLocations: locations, unsupportedNodes: unsupportedNodes(graph), loadError: nil)
        do {
            let model = try Model(bytes: bytes, modelDirectory: modelDirectory, outputTypes: Model.allOutputTypes)
            inspection.inputs = model.inputs
            inspection.outputs = model.outputs
        } catch {
            inspection.loadError = error.message
            // A load stops at its first problem; a second pass that records instead of throwing
            // lists every unsupported attribute and node problem.
            let opset = imports[""] ?? Model.supportedOpsets.upperBound
            if Model.supportedOpsets.contains(opset) {
                let diagnostics = LoadDiagnostics()
                var compiler = GraphCompiler(graph: graph, opset: opset, modelDirectory: modelDirectory)
                compiler.diagnostics = diagnostics
                _ = try? compiler.compile()
                for entry in diagnostics.entries {
                    switch entry.kind {
                    case .unsupportedAttribute(let name):
                        inspection.unsupportedAttributes.append(.init(attribute: name, opType: entry.opType, nodePath: entry.nodePath))
                    case .error(let message):
                        inspection.nodeProblems.append(message)
                    }
                }
            }
        }
        return inspection
    }

    /// Nodes per operator type in the whole model, and in its subgraphs alone.
    static func operatorHistograms(_ graph: GraphProtoIR) -> (all: [String: Int], subgraphs: [String: Int]) {
        var all: [String: Int] = [:], subgraphs: [String: Int] = [:]
        graph.forEachNode { node, _, scope in
            all[node.opType, default: 0] += 1
            if !scope.isEmpty { subgraphs[node.opType, default: 0] += 1 }
        }
        return (all, subgraphs)
    }

    /// Nodes whose operator (with its domain) is not implemented.
    static func unsupportedNodes(_ graph: GraphProtoIR) -> [ModelInspection.UnsupportedNode] {
        var result: [ModelInspection.UnsupportedNode] = []
        graph.forEachNode { node, label, scope in
            if OperatorCompiler.implements(node) { return }
            let defaultDomain = node.domain.isEmpty || node.domain == "ai.onnx"
            let op = defaultDomain ? node.opType : "\(node.domain).\(node.opType)"
            result.append(.init(opType: op, nodeName: label, scope: scope))
        }
        return result
    }

    /// The inspection of this loaded model (always servable).
    public var inspection: ModelInspection {
        ModelInspection(inputs: inputs, outputs: outputs, irVersion: irVersion, opsetVersion: opsetVersion,
                        opsetImports: opsetImports, producerName: producerName, producerVersion: producerVersion,
                        operatorHistogram: operatorHistogram, subgraphOperatorHistogram: subgraphOperatorHistogram,
                        nodeCount: operatorHistogram.values.reduce(0, +),
                        parameterCount: parameterCount, externalDataLocations: externalDataLocations,
                        unsupportedNodes: [], loadError: nil)
    }
}
