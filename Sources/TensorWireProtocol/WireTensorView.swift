/// A tensor decoded in place: `data` points into the frame payload and is valid exactly as
/// long as the payload. `data` is 64-byte aligned when the payload is.
///
/// Wire form: string name, u8 datatype, u8 rank, rank × i64 dims, u64 byte_length, zero
/// padding to the next multiple of 64 relative to the payload start, byte_length bytes.
public struct WireTensorView {
    public var name: String
    public var dataType: TensorDataType
    public var shape: [Int]
    public var data: UnsafeRawBufferPointer

    public init(name: String, dataType: TensorDataType, shape: [Int], data: UnsafeRawBufferPointer) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.data = data
    }

    /// Number of elements (validated at decode time, so it cannot overflow).
    public var elementCount: Int { WireTensor.elementCount(of: shape) ?? 0 }

    init(from r: inout ByteReader, limits: MessageLimits) throws(Status) {
        name = try r.string(maxLength: limits.maxNameLength, "tensor name")
        dataType = try TensorDataType.decode(try r.u8("datatype"))
        let rank = Int(try r.u8("rank"))
        guard rank <= limits.maxRank else { throw Status.invalid("rank \(rank) exceeds \(limits.maxRank)") }
        // Elements and bytes are computed with overflow checks as the dims are read.
        var elements = 1
        var shape = [Int]()
        shape.reserveCapacity(rank)
        for _ in 0..<rank {
            let d = try r.i64("dim")
            guard d >= 0 else { throw Status.invalid("negative dimension \(d) in tensor \"\(name)\"") }
            let (p, overflow) = elements.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw Status.invalid("element count of tensor \"\(name)\" overflows") }
            elements = p
            shape.append(Int(d))
        }
        self.shape = shape
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dataType.byteWidth)
        guard !overflow else { throw Status.invalid("byte size of tensor \"\(name)\" overflows") }
        let byteLength = try r.u64("byte_length")
        guard byteLength == UInt64(expected) else {
            throw Status.invalid("tensor \"\(name)\" byte_length \(byteLength) != \(expected) for shape \(shape) \(dataType)")
        }
        try r.skipPadding("tensor padding")
        data = try r.bytes(expected, "tensor data")
    }
}
