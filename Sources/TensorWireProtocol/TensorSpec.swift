/// Declared name, type and shape of a model input or output; -1 marks a variable dimension.
///
/// Wire form: string name, u8 datatype, u8 rank, rank × i64 dims (each >= -1).
public struct TensorSpec: Hashable, Sendable {
    public var name: String
    public var dataType: TensorDataType
    public var shape: [Int]

    public init(name: String, dataType: TensorDataType, shape: [Int]) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
    }

    func encode(into w: inout ByteWriter) {
        precondition(shape.count <= Int(UInt8.max) && shape.allSatisfy { $0 >= -1 }, "invalid TensorSpec shape")
        w.writeString(name)
        w.writeUInt8(dataType.rawValue)
        w.writeUInt8(UInt8(shape.count))
        for d in shape { w.writeInt64(Int64(d)) }
    }

    init(from r: inout ByteReader, limits: MessageLimits) throws(Status) {
        name = try r.string(maxLength: limits.maxNameLength, "tensor spec name")
        dataType = try TensorDataType.decode(try r.u8("datatype"))
        let rank = Int(try r.u8("rank"))
        guard rank <= limits.maxRank else { throw Status.invalid("rank \(rank) exceeds \(limits.maxRank)") }
        var shape = [Int]()
        shape.reserveCapacity(rank)
        for _ in 0..<rank {
            let d = try r.i64("dim")
            guard d >= -1 else { throw Status.invalid("dimension \(d) in tensor spec (only -1 marks variable)") }
            shape.append(Int(d))
        }
        self.shape = shape
    }
}
