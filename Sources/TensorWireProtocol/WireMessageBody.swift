/// An owned, tensor-free method body (everything except Infer).
///
/// These bodies contain no aligned data, so their encoding does not depend on the payload
/// start; the `payloadStart`/`bodyOffset` parameters exist for a uniform API.
public protocol WireMessageBody: Sendable {
    /// Appends the body (inside a `writeRequest`/`writeResponse` body closure).
    func encode(into writer: inout ByteWriter, payloadStart: Int)
    /// Parses a complete body; trailing bytes are INVALID_ARGUMENT.
    init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status)
}

extension WireMessageBody {
    public func encode(into writer: inout ByteWriter) { encode(into: &writer, payloadStart: 0) }

    public init(body: UnsafeRawBufferPointer, limits: MessageLimits = .default) throws(Status) {
        try self.init(body: body, bodyOffset: 0, limits: limits)
    }

    /// Encodes the body alone into a fresh byte array (tests, vectors).
    public func encodedBytes() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        encode(into: &w)
        return w.withUnsafeReadableBytes { Array($0) }
    }
}

extension ByteReader {
    /// A u16 list count for lists without a dedicated limit: bounded by the bytes left so that
    /// a forged count cannot make the decoder reserve more than the payload could hold.
    mutating func listCount(minElementSize: Int, limit: Int = Int(UInt16.max), _ what: StaticString) throws(Status) -> Int {
        let n = try count(limit: limit, what)
        guard n * minElementSize <= remaining else {
            throw Status.invalid("\(what) \(n) cannot fit in the remaining \(remaining) bytes")
        }
        return n
    }
}
