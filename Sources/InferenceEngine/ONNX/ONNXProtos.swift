/// Plain value types for the subset of ONNX messages v0 reads. They keep field values as read
/// (no validation beyond wire-level bounds); `ONNXModelParser` and `GraphCompiler` interpret them.

struct ModelProtoIR {
    var irVersion: Int64 = 0
    var producerName = ""
    var producerVersion = ""
    var opsetImports: [(domain: String, version: Int64)] = []
    var graph: GraphProtoIR?
}

struct GraphProtoIR {
    var name = ""
    var nodes: [NodeProtoIR] = []
    var initializers: [TensorProtoIR] = []
    var inputs: [ValueInfoProtoIR] = []
    var outputs: [ValueInfoProtoIR] = []
    var valueInfo: [ValueInfoProtoIR] = []
    var hasSparseInitializers = false
}

struct NodeProtoIR {
    var inputs: [String] = []
    var outputs: [String] = []
    var name = ""
    var opType = ""
    var domain = ""
    var attributes: [AttributeProtoIR] = []
}

struct AttributeProtoIR {
    /// ONNX `AttributeProto.AttributeType`.
    enum Kind: Int32 {
        case undefined = 0, float = 1, int = 2, string = 3, tensor = 4, graph = 5
        case floats = 6, ints = 7, strings = 8, tensors = 9, graphs = 10
        case sparseTensor = 11, sparseTensors = 12, typeProto = 13, typeProtos = 14
    }

    var name = ""
    /// Declared type, or inferred from the value field present when the file leaves it unset.
    var kind: Kind = .undefined
    var f: Float = 0
    var i: Int64 = 0
    var s: [UInt8] = []
    var t: TensorProtoIR?
    var floats: [Float] = []
    var ints: [Int64] = []
    var strings: [String] = []
    /// `g`: the subgraph of a GRAPH attribute (If branches, Loop and Scan bodies).
    var g: GraphProtoIR?
    /// `ref_attr_name` (function attributes); refused in v0.
    var refAttrName = ""
}

struct TensorProtoIR {
    var name = ""
    var dims: [Int64] = []
    var dataType: Int32 = 0
    var floatData: [Float] = []
    var int32Data: [Int32] = []
    var int64Data: [Int64] = []
    var rawData: ArraySlice<UInt8>?
    /// Number of typed values in fields v0 does not decode (double_data, uint64_data, string_data).
    var otherTypedValueCount = 0
    var dataLocation: Int32 = 0
    var hasExternalData = false
    /// `external_data` key/value entries (`location`, `offset`, `length`, `checksum`).
    var externalData: [(key: String, value: String)] = []
}

struct ValueInfoProtoIR {
    enum DimIR { case value(Int64), param(String), unknown }

    var name = ""
    /// `false` for sequence/map/optional types and for a missing type.
    var isTensor = false
    /// Whether a `type` field was present at all (subgraph values may leave it out).
    var hasType = false
    var elemType: Int32 = 0
    /// `nil` when the tensor type declares no shape (unknown rank).
    var dims: [DimIR]?
}
