/// Decodes ONNX protobuf bytes into the `*ProtoIR` value types, with every count bounded by
/// ``ONNXLimits`` and every length bounded by ``ProtobufReader``.
///
/// Unknown fields are skipped (forward compatibility with newer ONNX versions); fields that
/// change semantics in ways v0 cannot honour (external data, sparse initializers) are recorded
/// so the compiler can refuse the model with a clear message.
enum ONNXModelParser {
    static func parseModel(_ bytes: [UInt8]) throws(ModelLoadError) -> ModelProtoIR {
        guard !bytes.isEmpty else { throw ModelLoadError("model file is empty") }
        var reader = ProtobufReader(bytes: bytes)
        var model = ModelProtoIR()
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1: model.irVersion = try reader.readInt64(wireType: wire)
            case 2: model.producerName = try reader.readString(wireType: wire)
            case 3: model.producerVersion = try reader.readString(wireType: wire)
            case 7:
                guard model.graph == nil else { throw reader.error("ModelProto.graph appears twice") }
                var sub = try reader.readMessage(wireType: wire)
                model.graph = try parseGraph(&sub)
            case 8:
                guard model.opsetImports.count < ONNXLimits.maxOpsetImports else {
                    throw reader.error("more than \(ONNXLimits.maxOpsetImports) opset_import entries")
                }
                var sub = try reader.readMessage(wireType: wire)
                model.opsetImports.append(try parseOpset(&sub))
            default: try reader.skip(wireType: wire)
            }
        }
        guard model.graph != nil else {
            throw ModelLoadError("not an ONNX model: ModelProto has no graph (field 7)")
        }
        return model
    }

    static func parseOpset(_ reader: inout ProtobufReader) throws(ModelLoadError) -> (domain: String, version: Int64) {
        var domain = ""
        var version: Int64 = 0
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1: domain = try reader.readString(wireType: wire)
            case 2: version = try reader.readInt64(wireType: wire)
            default: try reader.skip(wireType: wire)
            }
        }
        return (domain, version)
    }

    /// - Parameter nesting: 0 for the model's graph, 1 for a subgraph of one of its nodes, ...
    static func parseGraph(_ reader: inout ProtobufReader, nesting: Int = 0) throws(ModelLoadError) -> GraphProtoIR {
        var graph = GraphProtoIR()
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1:
                guard graph.nodes.count < ONNXLimits.maxNodes else {
                    throw reader.error("more than \(ONNXLimits.maxNodes) nodes")
                }
                var sub = try reader.readMessage(wireType: wire)
                graph.nodes.append(try parseNode(&sub, nesting: nesting))
            case 2: graph.name = try reader.readString(wireType: wire)
            case 5:
                guard graph.initializers.count < ONNXLimits.maxInitializers else {
                    throw reader.error("more than \(ONNXLimits.maxInitializers) initializers")
                }
                var sub = try reader.readMessage(wireType: wire)
                graph.initializers.append(try parseTensor(&sub))
            case 11, 12, 13:
                let count = field == 11 ? graph.inputs.count : field == 12 ? graph.outputs.count : graph.valueInfo.count
                guard count < ONNXLimits.maxGraphValues else {
                    throw reader.error("more than \(ONNXLimits.maxGraphValues) graph inputs/outputs/value_info entries")
                }
                var sub = try reader.readMessage(wireType: wire)
                let info = try parseValueInfo(&sub)
                switch field {
                case 11: graph.inputs.append(info)
                case 12: graph.outputs.append(info)
                default: graph.valueInfo.append(info)
                }
            case 15:
                graph.hasSparseInitializers = true
                try reader.skip(wireType: wire)
            default: try reader.skip(wireType: wire)
            }
        }
        return graph
    }

    static func parseNode(_ reader: inout ProtobufReader, nesting: Int = 0) throws(ModelLoadError) -> NodeProtoIR {
        var node = NodeProtoIR()
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1, 2:
                guard node.inputs.count + node.outputs.count < ONNXLimits.maxNodeArity else {
                    throw reader.error("node has more than \(ONNXLimits.maxNodeArity) inputs/outputs")
                }
                let name = try reader.readString(wireType: wire)
                if field == 1 { node.inputs.append(name) } else { node.outputs.append(name) }
            case 3: node.name = try reader.readString(wireType: wire)
            case 4: node.opType = try reader.readString(wireType: wire)
            case 5:
                guard node.attributes.count < ONNXLimits.maxAttributes else {
                    throw reader.error("node has more than \(ONNXLimits.maxAttributes) attributes")
                }
                var sub = try reader.readMessage(wireType: wire)
                node.attributes.append(try parseAttribute(&sub, nesting: nesting))
            case 7: node.domain = try reader.readString(wireType: wire)
            default: try reader.skip(wireType: wire)
            }
        }
        return node
    }

    static func parseAttribute(_ reader: inout ProtobufReader, nesting: Int = 0) throws(ModelLoadError) -> AttributeProtoIR {
        var attribute = AttributeProtoIR()
        var declared: Int32 = 0
        var inferred: AttributeProtoIR.Kind = .undefined
        let limit = ONNXLimits.maxAttributeValues
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1: attribute.name = try reader.readString(wireType: wire)
            case 2: attribute.f = try reader.readFloat(wireType: wire); inferred = .float
            case 3: attribute.i = try reader.readInt64(wireType: wire); inferred = .int
            case 4:
                attribute.s = Array(try reader.readBytes(wireType: wire))
                inferred = .string
            case 5:
                var sub = try reader.readMessage(wireType: wire)
                attribute.t = try parseTensor(&sub)
                inferred = .tensor
            case 6:
                guard nesting < ONNXLimits.maxSubgraphNesting else {
                    throw reader.error("subgraphs nested deeper than \(ONNXLimits.maxSubgraphNesting) levels (attribute '\(attribute.name)')")
                }
                guard attribute.g == nil else { throw reader.error("attribute '\(attribute.name)' has two graphs") }
                var sub = try reader.readMessage(wireType: wire)
                attribute.g = try parseGraph(&sub, nesting: nesting + 1)
                inferred = .graph
            case 7:
                try reader.appendFloats(wireType: wire, to: &attribute.floats, limit: limit, field: "AttributeProto.floats")
                inferred = .floats
            case 8:
                try reader.appendInt64s(wireType: wire, to: &attribute.ints, limit: limit, field: "AttributeProto.ints")
                inferred = .ints
            case 9:
                guard attribute.strings.count < limit else { throw reader.error("too many attribute strings") }
                attribute.strings.append(try reader.readString(wireType: wire))
                inferred = .strings
            case 10: try reader.skip(wireType: wire); inferred = .tensors
            case 11: try reader.skip(wireType: wire); inferred = .graphs
            case 20: declared = try reader.readInt32(wireType: wire)
            case 21: attribute.refAttrName = try reader.readString(wireType: wire)
            default: try reader.skip(wireType: wire)
            }
        }
        if declared != 0 {
            guard let kind = AttributeProtoIR.Kind(rawValue: declared) else {
                throw ModelLoadError("attribute '\(attribute.name)' has unknown type \(declared)")
            }
            attribute.kind = kind
        } else {
            attribute.kind = inferred
        }
        return attribute
    }

    static func parseTensor(_ reader: inout ProtobufReader) throws(ModelLoadError) -> TensorProtoIR {
        var tensor = TensorProtoIR()
        let limit = ONNXLimits.maxTensorElements
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1:
                try reader.appendInt64s(wireType: wire, to: &tensor.dims, limit: ONNXLimits.maxRank + 1, field: "TensorProto.dims")
            case 2: tensor.dataType = try reader.readInt32(wireType: wire)
            case 4: try reader.appendFloats(wireType: wire, to: &tensor.floatData, limit: limit, field: "TensorProto.float_data")
            case 5: try reader.appendInt32s(wireType: wire, to: &tensor.int32Data, limit: limit, field: "TensorProto.int32_data")
            case 7: try reader.appendInt64s(wireType: wire, to: &tensor.int64Data, limit: limit, field: "TensorProto.int64_data")
            case 8: tensor.name = try reader.readString(wireType: wire)
            case 9: tensor.rawData = try reader.readBytes(wireType: wire)
            case 6, 10, 11:
                // string_data / double_data / uint64_data: not decoded in v0, only noticed.
                try reader.skip(wireType: wire)
                tensor.otherTypedValueCount += 1
            case 13:
                tensor.hasExternalData = true
                guard tensor.externalData.count < 16 else { throw reader.error("more than 16 external_data entries") }
                var entry = try reader.readMessage(wireType: wire)
                var key = "", value = ""
                while !entry.isAtEnd {
                    let (f, w) = try entry.readTag()
                    switch f {
                    case 1: key = try entry.readString(wireType: w, maxBytes: 4096)
                    case 2: value = try entry.readString(wireType: w, maxBytes: 4096)
                    default: try entry.skip(wireType: w)
                    }
                }
                tensor.externalData.append((key, value))
            case 14: tensor.dataLocation = try reader.readInt32(wireType: wire)
            default: try reader.skip(wireType: wire)
            }
        }
        return tensor
    }

    static func parseValueInfo(_ reader: inout ProtobufReader) throws(ModelLoadError) -> ValueInfoProtoIR {
        var info = ValueInfoProtoIR()
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1: info.name = try reader.readString(wireType: wire)
            case 2:
                info.hasType = true
                var typeReader = try reader.readMessage(wireType: wire)
                while !typeReader.isAtEnd {
                    let (typeField, typeWire) = try typeReader.readTag()
                    if typeField == 1 {
                        info.isTensor = true
                        var tensorType = try typeReader.readMessage(wireType: typeWire)
                        try parseTensorType(&tensorType, into: &info)
                    } else {
                        try typeReader.skip(wireType: typeWire)
                    }
                }
            default: try reader.skip(wireType: wire)
            }
        }
        return info
    }

    static func parseTensorType(_ reader: inout ProtobufReader, into info: inout ValueInfoProtoIR) throws(ModelLoadError) {
        while !reader.isAtEnd {
            let (field, wire) = try reader.readTag()
            switch field {
            case 1: info.elemType = try reader.readInt32(wireType: wire)
            case 2:
                var shape = try reader.readMessage(wireType: wire)
                var dims: [ValueInfoProtoIR.DimIR] = []
                while !shape.isAtEnd {
                    let (shapeField, shapeWire) = try shape.readTag()
                    guard shapeField == 1 else { try shape.skip(wireType: shapeWire); continue }
                    guard dims.count < ONNXLimits.maxRank else {
                        throw shape.error("value '\(info.name)' declares more than \(ONNXLimits.maxRank) dimensions")
                    }
                    var dimReader = try shape.readMessage(wireType: shapeWire)
                    var dim = ValueInfoProtoIR.DimIR.unknown
                    while !dimReader.isAtEnd {
                        let (dimField, dimWire) = try dimReader.readTag()
                        switch dimField {
                        case 1: dim = .value(try dimReader.readInt64(wireType: dimWire))
                        case 2: dim = .param(try dimReader.readString(wireType: dimWire))
                        default: try dimReader.skip(wireType: dimWire)
                        }
                    }
                    dims.append(dim)
                }
                info.dims = dims
            default: try reader.skip(wireType: wire)
            }
        }
    }
}
