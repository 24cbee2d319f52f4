/// What a model file contains, for `tensorwire model inspect`: computed from the bytes without
/// requiring the model to be servable, so unsupported operators are listed rather than thrown.
public struct ModelInspection: Sendable {
    /// A node whose operator the engine does not implement.
    public struct UnsupportedNode: Sendable, Hashable, CustomStringConvertible {
        /// `op_type`, prefixed with the domain for non-default domains (`com.microsoft.FusedGemm`).
        public var opType: String
        /// The node name, or `#index` when the file leaves it empty.
        public var nodeName: String
        /// `unsupported operator 'Einsum' (node 'einsum1')`.
        public var description: String { "unsupported operator '\(opType)' (node '\(nodeName)')" }
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
    /// Number of nodes per operator type, as in the file.
    public var operatorHistogram: [String: Int]
    /// Number of nodes in the main graph.
    public var nodeCount: Int
    /// Total number of elements in all initializers (from their declared dims; external data is
    /// not read for this).
    public var parameterCount: Int
    /// Distinct external data `location`s the initializers refer to.
    public var externalDataLocations: [String]
    /// Nodes whose operator is not implemented, in graph order.
    public var unsupportedNodes: [UnsupportedNode]
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
        var histogram: [String: Int] = [:]
        for node in graph.nodes { histogram[node.opType, default: 0] += 1 }
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
            operatorHistogram: histogram, nodeCount: graph.nodes.count, parameterCount: parameters,
            externalDataLocations: locations, unsupportedNodes: unsupportedNodes(graph), loadError: nil)
        do {
            let model = try Model(bytes: bytes, modelDirectory: modelDirectory, outputTypes: Model.allOutputTypes)
            inspection.inputs = model.inputs
            inspection.outputs = model.outputs
        } catch {
            inspection.loadError = error.message
        }
        return inspection
    }

    /// Nodes whose operator (with its domain) is not implemented.
    static func unsupportedNodes(_ graph: GraphProtoIR) -> [ModelInspection.UnsupportedNode] {
        let supported = Set(OperatorCompiler.supportedOperators)
        var result: [ModelInspection.UnsupportedNode] = []
        for (index, node) in graph.nodes.enumerated() {
            let defaultDomain = node.domain.isEmpty || node.domain == "ai.onnx"
            if defaultDomain && supported.contains(node.opType) { continue }
            if node.domain == "ai.onnx.ml" && OperatorCompiler.supportedMLOperators.contains(node.opType) { continue }
            let op = defaultDomain ? node.opType : "\(node.domain).\(node.opType)"
            result.append(.init(opType: op, nodeName: node.name.isEmpty ? "#\(index)" : node.name))
        }
        return result
    }

    /// The inspection of this loaded model (always servable).
    public var inspection: ModelInspection {
        ModelInspection(inputs: inputs, outputs: outputs, irVersion: irVersion, opsetVersion: opsetVersion,
                        opsetImports: opsetImports, producerName: producerName, producerVersion: producerVersion,
                        operatorHistogram: operatorHistogram, nodeCount: operatorHistogram.values.reduce(0, +),
                        parameterCount: parameterCount, externalDataLocations: externalDataLocations,
                        unsupportedNodes: [], loadError: nil)
    }
}
