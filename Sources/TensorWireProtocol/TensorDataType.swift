/// Tensor element types, numbered as ONNX `TensorProto.DataType`. Other numbers are rejected
/// with INVALID_ARGUMENT (STRING, complex and 8-bit float types are not carried by v1).
public enum TensorDataType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case bool = 9, float16 = 10, float64 = 11, uint32 = 12, uint64 = 13, bfloat16 = 16

    /// Bytes per element on the wire (BOOL is one byte, 0 or 1).
    public var byteWidth: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .float32, .int32, .uint32: 4
        case .int64, .float64, .uint64: 8
        }
    }

    /// KServe-style names: "FP32", "INT64", "BOOL", "BF16", ...
    public var description: String {
        switch self {
        case .float32: "FP32"
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .bool: "BOOL"
        case .float16: "FP16"
        case .float64: "FP64"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .bfloat16: "BF16"
        }
    }

    /// Parses a name as produced by ``description``.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }

    static func decode(_ raw: UInt8) throws(Status) -> TensorDataType {
        guard let t = TensorDataType(rawValue: raw) else { throw Status.invalid("unknown datatype \(raw)") }
        return t
    }
}
