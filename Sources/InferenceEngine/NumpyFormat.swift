/// NumPy `.npy` reading and writing for tensors (`tensorwire model run --input name=file.npy`).
///
/// Format versions 1.0, 2.0 and 3.0; C order; little-endian `<f4`, `<i8`, `<i4` and `|b1`
/// (also their `=`/`|` native spellings on this little-endian platform). Everything else
/// (float64, big-endian, Fortran order, object arrays) is refused with a message saying what
/// to convert to.
extension Tensor {
    /// Parses the bytes of a `.npy` file.
    ///
    /// Throws ``InferenceError/invalidInput(_:)`` for a malformed header, an unsupported dtype
    /// or order, or a data length that does not match the shape.
    public init(npy bytes: [UInt8]) throws(InferenceError) {
        func bad(_ why: String) -> InferenceError { .invalidInput("not a supported .npy file: \(why)") }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("missing \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw bad("format version \(major) is not supported")
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else { throw bad("truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)

        func value(of key: String) throws(InferenceError) -> Substring {
            guard let k = header.firstRange(of: "'\(key)'") ?? header.firstRange(of: "\"\(key)\""),
                  let colon = header[k.upperBound...].firstIndex(of: ":") else { throw bad("header has no '\(key)'") }
            return header[header.index(after: colon)...].drop { $0 == " " }
        }
        let descrField = try value(of: "descr")
        guard let quote = descrField.first, quote == "'" || quote == "\"",
              let end = descrField.dropFirst().firstIndex(of: quote) else { throw bad("cannot read 'descr'") }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<end])
        let fortran = try value(of: "fortran_order")
        guard fortran.hasPrefix("False") else {
            throw bad(fortran.hasPrefix("True") ? "Fortran-order arrays are not supported (save with np.ascontiguousarray)" : "cannot read 'fortran_order'")
        }
        let shapeField = try value(of: "shape")
        guard shapeField.first == "(", let close = shapeField.firstIndex(of: ")") else { throw bad("cannot read 'shape'") }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex)..<close].split(separator: ",") {
            let text = part.trimmingCharacters(in: " ")
            if text.isEmpty { continue }
            guard let d = Int(text), d >= 0 else { throw bad("invalid dimension '\(text)'") }
            shape.append(d)
        }
        guard shape.count <= ONNXLimits.maxRank else { throw bad("rank \(shape.count) exceeds \(ONNXLimits.maxRank)") }
        let type: ElementType
        switch descr {
        case "<f4", "=f4": type = .float32
        case "<i8", "=i8": type = .int64
        case "<i4", "=i4": type = .int32
        case "|b1", "<b1", "=b1": type = .bool
        case "<f8", "=f8": throw bad("dtype float64 is not supported; save with .astype(np.float32)")
        default: throw bad("dtype '\(descr)' is not supported (float32, int64, int32 and bool are, little-endian)")
        }
        let data = Array(bytes[(headerStart + headerLength)...])
        var result: Result<Tensor, InferenceError> = .failure(.internalFailure("unreachable"))
        data.withUnsafeBytes { raw in
            do throws(InferenceError) {
                result = .success(try Tensor(shape: shape, elementType: type, copyingBytes: raw))
            } catch {
                result = .failure(error)
            }
        }
        self = try result.get()
    }

    /// The tensor as a `.npy` file (format 1.0, C order, little-endian).
    public func npyBytes() -> [UInt8] {
        let descr: String
        switch elementType {
        case .int64: descr = "<i8"
        case .int32: descr = "<i4"
        case .bool: descr = "|b1"
        default: descr = "<f4"
        }
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        // Pad with spaces so that the data starts on a 64-byte boundary; the header ends in '\n'.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
        let length = header.utf8.count
        out.append(UInt8(length & 0xFF)); out.append(UInt8(length >> 8))
        out.append(contentsOf: header.utf8)
        withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
