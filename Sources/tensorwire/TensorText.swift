import Foundation
import TensorWireProtocol

/// Converts between tensors and the JSON people type on a command line or read in a terminal.
enum TensorText {
    /// Parses `[[1, 2], [3, 4]]` (shape from nesting), a bare number (a scalar), or
    /// `{"shape": [2, 2], "data": [1, 2, 3, 4]}` into a tensor of `dataType`.
    static func parse(json text: String, name: String, dataType: TensorDataType) throws(CLIError) -> WireTensor {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) } catch {
            throw CLIError("input '\(name)': not valid JSON (\(error.localizedDescription))")
        }
        var shape: [Int] = []
        var values: [Double] = []
        if let dictionary = object as? [String: Any] {
            guard let declared = dictionary["shape"] as? [Int], let data = dictionary["data"] else {
                throw CLIError("input '\(name)': an object needs \"shape\" (integers) and \"data\"")
            }
            var ignored: [Int] = []
            try flatten(data, name: name, depth: 0, shape: &ignored, into: &values)
            shape = declared
        } else {
            try flatten(object, name: name, depth: 0, shape: &shape, into: &values)
        }
        guard let count = WireTensor.elementCount(of: shape), count == values.count else {
            throw CLIError("input '\(name)': \(values.count) values do not fill shape \(shape)")
        }
        return try encode(values, name: name, shape: shape, dataType: dataType)
    }

    private static func flatten(_ value: Any, name: String, depth: Int, shape: inout [Int], into values: inout [Double]) throws(CLIError) {
        if let number = value as? NSNumber {
            if depth < shape.count { throw CLIError("input '\(name)': ragged nesting") }
            values.append(number.doubleValue)
            return
        }
        guard let array = value as? [Any] else { throw CLIError("input '\(name)': only numbers and arrays are allowed") }
        guard depth < 8 else { throw CLIError("input '\(name)': nesting deeper than 8") }
        if depth == shape.count { shape.append(array.count) } else if shape[depth] != array.count {
            throw CLIError("input '\(name)': ragged nesting (rows of \(shape[depth]) and \(array.count))")
        }
        for element in array { try flatten(element, name: name, depth: depth + 1, shape: &shape, into: &values) }
    }

    private static func encode(_ values: [Double], name: String, shape: [Int], dataType: TensorDataType) throws(CLIError) -> WireTensor {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        for value in values {
            switch dataType {
            case .float32: append(Float(value).bitPattern)
            case .float64: append(value.bitPattern)
            case .int64: append(Int64(value))
            case .int32: append(Int32(clamping: Int64(value)))
            case .int16: append(Int16(clamping: Int64(value)))
            case .int8: append(Int8(clamping: Int64(value)))
            case .uint8: append(UInt8(clamping: Int64(value)))
            case .uint16: append(UInt16(clamping: Int64(value)))
            case .uint32: append(UInt32(clamping: Int64(value)))
            case .uint64: append(UInt64(clamping: Int64(value)))
            case .bool: bytes.append(value != 0 ? 1 : 0)
            case .float16, .bfloat16: throw CLIError("input '\(name)': \(dataType) inputs must come from an .npy file")
            }
        }
        do { return try WireTensor(name: name, dataType: dataType, shape: shape, data: bytes) } catch {
            throw CLIError("input '\(name)': \(error.message)")
        }
    }

    /// The tensor's values as doubles, or nil for types printed as raw bytes.
    static func doubles(_ tensor: WireTensor) -> [Double]? {
        tensor.data.withUnsafeBytes { raw -> [Double]? in
            let count = WireTensor.elementCount(of: tensor.shape) ?? 0
            func load<T>(_ type: T.Type, _ convert: (T) -> Double) -> [Double] {
                (0..<count).map { convert(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
            }
            switch tensor.dataType {
            case .float32: return load(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
            case .float64: return load(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
            case .int64: return load(Int64.self) { Double(Int64(littleEndian: $0)) }
            case .int32: return load(Int32.self) { Double(Int32(littleEndian: $0)) }
            case .int16: return load(Int16.self) { Double(Int16(littleEndian: $0)) }
            case .int8: return load(Int8.self) { Double($0) }
            case .uint8, .bool: return load(UInt8.self) { Double($0) }
            case .uint16: return load(UInt16.self) { Double(UInt16(littleEndian: $0)) }
            case .uint32: return load(UInt32.self) { Double(UInt32(littleEndian: $0)) }
            case .uint64: return load(UInt64.self) { Double(UInt64(littleEndian: $0)) }
            case .float16, .bfloat16: return nil
            }
        }
    }

    /// Nested JSON arrays for the tensor's values (`[[0.93, 0.07]]`).
    static func render(_ tensor: WireTensor) -> String {
        guard let values = doubles(tensor) else { return "<\(tensor.data.count) bytes of \(tensor.dataType)>" }
        let isFloat = [.float32, .float64].contains(tensor.dataType)
        func number(_ value: Double) -> String {
            if !isFloat { return String(Int64(value)) }
            if value.isNaN { return "NaN" }
            return tensor.dataType == .float32 ? "\(Float(value))" : "\(value)"
        }
        var index = 0
        func nest(_ dimension: Int) -> String {
            if dimension == tensor.shape.count {
                defer { index += 1 }
                return number(values[index])
            }
            return "[" + (0..<tensor.shape[dimension]).map { _ in nest(dimension + 1) }.joined(separator: ", ") + "]"
        }
        return nest(0)
    }
}
