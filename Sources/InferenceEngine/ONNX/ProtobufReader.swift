/// A bounded, allocation-free reader for the protobuf wire format.
///
/// Written by hand (no generated code) so that every length, count and nesting level coming
/// from an untrusted file is checked before it is used: a truncated or hostile model must
/// produce a ``ModelLoadError``, never a trap or a huge allocation.
///
/// The reader is a window `position..<end` into a shared byte array (copy-on-write, so nested
/// readers do not copy). Nested messages get a child reader whose window must lie inside the
/// parent's and whose depth is bounded by ``maxDepth``.
struct ProtobufReader {
    /// Wire types of proto2/proto3. Groups (3, 4) are deprecated and refused.
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// Nesting limit. A graph needs 5 levels below it (ValueInfoProto > TypeProto > Tensor >
    /// TensorShapeProto > Dimension) and each subgraph level adds 3 (NodeProto > AttributeProto
    /// > GraphProto), so the model's graph at depth 1 with ``ONNXLimits/maxSubgraphNesting``
    /// levels of subgraphs fits exactly; the parser refuses deeper subgraphs first, by name.
    static let maxDepth = 6 + 3 * ONNXLimits.maxSubgraphNesting

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    let depth: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
        self.depth = 0
    }

    private init(bytes: [UInt8], range: Range<Int>, depth: Int) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.depth = depth
    }

    var isAtEnd: Bool { position >= end }

    func error(_ what: String) -> ModelLoadError {
        ModelLoadError("malformed ONNX protobuf: \(what) at byte offset \(position)")
    }

    // MARK: Primitive reads

    /// Reads a base-128 varint of at most 10 bytes.
    mutating func readVarint() throws(ModelLoadError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<10 {
            guard position < end else { throw error("truncated varint") }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) &<< shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw error("varint longer than 10 bytes")
    }

    mutating func readFixed32() throws(ModelLoadError) -> UInt32 {
        guard end - position >= 4 else { throw error("truncated fixed32") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return value
    }

    mutating func readFixed64() throws(ModelLoadError) -> UInt64 {
        guard end - position >= 8 else { throw error("truncated fixed64") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return value
    }

    /// Reads a field key. Field number 0 and group wire types are malformed.
    mutating func readTag() throws(ModelLoadError) -> (field: Int, wireType: WireType) {
        let key = try readVarint()
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw error("unsupported wire type \(key & 7)")
        }
        let field = key >> 3
        guard field >= 1, field <= 536_870_911 else { throw error("invalid field number \(field)") }
        return (Int(field), wire)
    }

    /// Reads a length prefix and returns the payload range, checked to lie inside this message.
    mutating func readLengthDelimited() throws(ModelLoadError) -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw error("length \(length) exceeds the \(end - position) bytes left in the enclosing message (truncated file?)")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// Reads a length-delimited submessage and returns a reader for it.
    mutating func readMessage(wireType: WireType) throws(ModelLoadError) -> ProtobufReader {
        try expect(wireType, .lengthDelimited)
        guard depth + 1 <= Self.maxDepth else { throw error("messages nested deeper than \(Self.maxDepth)") }
        let range = try readLengthDelimited()
        return ProtobufReader(bytes: bytes, range: range, depth: depth + 1)
    }

    /// Reads a string field (UTF-8; invalid sequences are replaced, never trusted).
    mutating func readString(wireType: WireType, maxBytes: Int = ONNXLimits.maxStringBytes) throws(ModelLoadError) -> String {
        try expect(wireType, .lengthDelimited)
        let range = try readLengthDelimited()
        guard range.count <= maxBytes else { throw error("string of \(range.count) bytes exceeds the \(maxBytes)-byte limit") }
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// Reads a bytes field without copying.
    mutating func readBytes(wireType: WireType) throws(ModelLoadError) -> ArraySlice<UInt8> {
        try expect(wireType, .lengthDelimited)
        return bytes[try readLengthDelimited()]
    }

    mutating func readInt64(wireType: WireType) throws(ModelLoadError) -> Int64 {
        try expect(wireType, .varint)
        return Int64(bitPattern: try readVarint())
    }

    /// int32 fields are varints; negative values are sign-extended to 10 bytes on the wire.
    mutating func readInt32(wireType: WireType) throws(ModelLoadError) -> Int32 {
        try expect(wireType, .varint)
        return Int32(truncatingIfNeeded: try readVarint())
    }

    mutating func readFloat(wireType: WireType) throws(ModelLoadError) -> Float {
        try expect(wireType, .fixed32)
        return Float(bitPattern: try readFixed32())
    }

    // MARK: Repeated scalars (packed or unpacked)

    /// Appends one element (unpacked) or a packed run of varints to `values`, keeping the total
    /// at or below `limit`.
    mutating func appendInt64s(wireType: WireType, to values: inout [Int64], limit: Int, field: String) throws(ModelLoadError) {
        switch wireType {
        case .varint:
            guard values.count < limit else { throw error("more than \(limit) values in \(field)") }
            values.append(Int64(bitPattern: try readVarint()))
        case .lengthDelimited:
            let range = try readLengthDelimited()
            var sub = ProtobufReader(bytes: bytes, range: range, depth: depth)
            while !sub.isAtEnd {
                guard values.count < limit else { throw error("more than \(limit) values in \(field)") }
                values.append(Int64(bitPattern: try sub.readVarint()))
            }
        default:
            throw error("wrong wire type \(wireType.rawValue) for \(field)")
        }
    }

    mutating func appendInt32s(wireType: WireType, to values: inout [Int32], limit: Int, field: String) throws(ModelLoadError) {
        var wide: [Int64] = []
        try appendInt64s(wireType: wireType, to: &wide, limit: limit - values.count, field: field)
        values.append(contentsOf: wide.lazy.map { Int32(truncatingIfNeeded: $0) })
    }

    mutating func appendFloats(wireType: WireType, to values: inout [Float], limit: Int, field: String) throws(ModelLoadError) {
        switch wireType {
        case .fixed32:
            guard values.count < limit else { throw error("more than \(limit) values in \(field)") }
            values.append(Float(bitPattern: try readFixed32()))
        case .lengthDelimited:
            let range = try readLengthDelimited()
            guard range.count % 4 == 0 else { throw error("packed \(field) length \(range.count) is not a multiple of 4") }
            let count = range.count / 4
            guard count <= limit - values.count else { throw error("more than \(limit) values in \(field)") }
            values.reserveCapacity(values.count + count)
            var sub = ProtobufReader(bytes: bytes, range: range, depth: depth)
            for _ in 0..<count { values.append(Float(bitPattern: try sub.readFixed32())) }
        default:
            throw error("wrong wire type \(wireType.rawValue) for \(field)")
        }
    }

    /// Skips an unknown or unneeded field; length-delimited payloads are bounds-checked, not parsed.
    mutating func skip(wireType: WireType) throws(ModelLoadError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    func expect(_ actual: WireType, _ expected: WireType) throws(ModelLoadError) {
        guard actual == expected else {
            throw error("wire type \(actual.rawValue) where \(expected.rawValue) was expected")
        }
    }
}
