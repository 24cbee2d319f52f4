/// The element type of a tensor, mirroring ONNX `TensorProto.DataType`.
///
/// The engine computes in ``float32`` and holds ``int64``, ``int32`` and ``bool`` tensors for
/// shapes, indices, token ids and masks (model inputs and outputs may be any of these four). The
/// other cases exist so that models can be described and refused with a precise message.
public enum ElementType: Sendable, Hashable, CustomStringConvertible {
    case float32, uint8, int8, uint16, int16, int32, int64, string, bool
    case float16, float64, uint32, uint64, bfloat16

    /// Maps an ONNX `DataType` number; `nil` for UNDEFINED (0) and unknown or unsupported numbers
    /// (complex, float8, int4 ...).
    public init?(onnxDataType: Int32) {
        switch onnxDataType {
        case 1: self = .float32
        case 2: self = .uint8
        case 3: self = .int8
        case 4: self = .uint16
        case 5: self = .int16
        case 6: self = .int32
        case 7: self = .int64
        case 8: self = .string
        case 9: self = .bool
        case 10: self = .float16
        case 11: self = .float64
        case 12: self = .uint32
        case 13: self = .uint64
        case 16: self = .bfloat16
        default: return nil
        }
    }

    /// The ONNX `TensorProto.DataType` number.
    public var onnxDataType: Int32 {
        switch self {
        case .float32: 1
        case .uint8: 2
        case .int8: 3
        case .uint16: 4
        case .int16: 5
        case .int32: 6
        case .int64: 7
        case .string: 8
        case .bool: 9
        case .float16: 10
        case .float64: 11
        case .uint32: 12
        case .uint64: 13
        case .bfloat16: 16
        }
    }

    /// The ONNX spelling (`FLOAT`, `DOUBLE`, ...), used in error messages so they match what
    /// ONNX tooling such as Netron shows.
    public var onnxName: String {
        switch self {
        case .float32: "FLOAT"
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .string: "STRING"
        case .bool: "BOOL"
        case .float16: "FLOAT16"
        case .float64: "DOUBLE"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .bfloat16: "BFLOAT16"
        }
    }

    /// Bytes per element in ONNX `raw_data`; `nil` for ``string`` (variable length).
    public var byteWidth: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        case .string: nil
        }
    }

    /// Swift-style name (`float32`, `float64`, ...).
    public var description: String {
        switch self {
        case .float32: "float32"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .float64: "float64"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .bfloat16: "bfloat16"
        }
    }
}
