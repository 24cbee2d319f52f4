import TensorWireProtocol

/// Reads and writes numpy's `.npy` format, the convention for tensors in files.
///
/// Only little-endian, C-ordered arrays of the wire datatypes are accepted; anything else is
/// refused with a message instead of being silently reinterpreted.
public enum NPYFormat {
    /// Largest header we parse; real headers are under 200 bytes.
    static let maxHeaderLength = 64 << 10
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// An error in an `.npy` file.
    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Decodes `.npy` bytes into a tensor called `name`.
    public static func decode(_ bytes: [UInt8], name: String) throws(FormatError) -> WireTensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw FormatError(description: "not an .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw FormatError(description: "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw FormatError(description: "unsupported .npy version \(major)")
        }
        guard headerLength <= maxHeaderLength, headerStart + headerLength <= bytes.count else {
            throw FormatError(description: "truncated or oversized .npy header")
        }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard let descr = stringValue(of: "descr", in: header) else { throw FormatError(description: "missing 'descr' in .npy header") }
        guard let dataType = dataType(forDescr: descr) else {
            throw FormatError(description: "unsupported .npy dtype '\(descr)' (little-endian bool, int, uint and float types are supported)")
        }
        if header.contains("'fortran_order': True") {
            throw FormatError(description: "Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray")
        }
        guard let shape = shapeValue(in: header) else { throw FormatError(description: "missing or malformed 'shape' in .npy header") }
        let data = Array(bytes[(headerStart + headerLength)...])
        do {
            return try WireTensor(name: name, dataType: dataType, shape: shape, data: data)
        } catch {
            throw FormatError(description: "\(error.message)")
        }
    }

    /// Encodes a tensor as version 1.0 `.npy` bytes (header padded to 64 bytes, as numpy does).
    public static func encode(_ tensor: WireTensor) -> [UInt8] {
        let shapeText: String
        switch tensor.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(tensor.shape[0]),)"
        default: shapeText = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr(for: tensor.dataType))', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = magic.count + 4 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        bytes += tensor.data
        return bytes
    }

    static func dataType(forDescr descr: String) -> TensorDataType? {
        switch descr {
        case "<f4": .float32
        case "<f8": .float64
        case "<f2": .float16
        case "<i8": .int64
        case "<i4": .int32
        case "<i2": .int16
        case "|i1", "<i1": .int8
        case "|u1", "<u1": .uint8
        case "<u2": .uint16
        case "<u4": .uint32
        case "<u8": .uint64
        case "|b1", "<b1": .bool
        default: nil
        }
    }

    static func descr(for dataType: TensorDataType) -> String {
        switch dataType {
        case .float32: "<f4"
        case .float64: "<f8"
        case .float16: "<f2"
        case .bfloat16: "<V2"  // numpy has no bfloat16; raw 2-byte records keep the bits
        case .int64: "<i8"
        case .int32: "<i4"
        case .int16: "<i2"
        case .int8: "|i1"
        case .uint8: "|u1"
        case .uint16: "<u2"
        case .uint32: "<u4"
        case .uint64: "<u8"
        case .bool: "|b1"
        }
    }

    private static func stringValue(of key: String, in header: String) -> String? {
        guard let keyRange = header.firstRange(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...].drop { $0 == " " }
        guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: quote) else { return nil }
        return String(body[..<end])
    }

    private static func shapeValue(in header: String) -> [Int]? {
        guard let keyRange = header.firstRange(of: "'shape':") else { return nil }
        let rest = header[keyRange.upperBound...].drop { $0 == " " }
        guard rest.first == "(", let close = rest.firstIndex(of: ")") else { return nil }
        let inner = rest[rest.index(after: rest.startIndex)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            // Python 2 era files write longs as "3L".
            let trimmed = part.filter { $0 != " " && $0 != "L" }
            if trimmed.isEmpty { continue }
            guard let value = Int(trimmed), value >= 0 else { return nil }
            shape.append(value)
        }
        return shape
    }
}
