/// An owned tensor: client-side inputs, and results that must outlive a frame.
public struct WireTensor: Hashable, Sendable {
    public var name: String
    public var dataType: TensorDataType
    /// Dimensions, each >= 0; `[]` is a scalar (one element).
    public var shape: [Int]
    /// Little-endian, row-major element bytes.
    public var data: [UInt8]

    /// - Throws: INVALID_ARGUMENT if a dimension is negative, the rank exceeds 8, the element
    ///   count overflows, or `data.count != elementCount × byteWidth`.
    public init(name: String, dataType: TensorDataType, shape: [Int], data: [UInt8]) throws(Status) {
        try Self.validate(dataType: dataType, shape: shape, byteCount: data.count)
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.data = data
    }

    /// An FP32 tensor from host floats (stored little-endian).
    public init(name: String, shape: [Int], floats: [Float]) throws(Status) {
        var bytes = [UInt8](repeating: 0, count: floats.count * 4)
        bytes.withUnsafeMutableBytes { dst in
            for (i, f) in floats.enumerated() {
                dst.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        try self.init(name: name, dataType: .float32, shape: shape, data: bytes)
    }

    /// Copies a tensor out of a frame payload (the view was validated when it was decoded).
    public init(copying view: WireTensorView) {
        name = view.name
        dataType = view.dataType
        shape = view.shape
        data = Array(view.data)
    }

    /// The elements as host floats; nil unless the type is FP32.
    public var floats: [Float]? {
        guard dataType == .float32 else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<raw.count / 4).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
    }

    /// Product of the dimensions; nil if any is negative or the product overflows `Int`.
    public static func elementCount(of shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        return n
    }

    /// `elementCount × byteWidth`, nil on negative dims or overflow.
    public static func byteCount(dataType: TensorDataType, shape: [Int]) -> Int? {
        guard let n = elementCount(of: shape) else { return nil }
        let (b, overflow) = n.multipliedReportingOverflow(by: dataType.byteWidth)
        return overflow ? nil : b
    }

    /// Checks that a tensor can be sent: rank <= `maxRank`, dims >= 0, and `byteCount` equal to
    /// the overflow-checked element count × width. Servers call this on engine outputs before
    /// `writeTensor`, which traps on violations, and answer INTERNAL if it throws.
    public static func validate(dataType: TensorDataType, shape: [Int], byteCount: Int, maxRank: Int = MessageLimits.default.maxRank) throws(Status) {
        guard shape.count <= maxRank else { throw Status.invalid("rank \(shape.count) exceeds \(maxRank)") }
        guard let expected = Self.byteCount(dataType: dataType, shape: shape) else {
            throw Status.invalid("shape \(shape) has a negative dimension or overflows")
        }
        guard expected == byteCount else {
            throw Status.invalid("byte length \(byteCount) does not match shape \(shape) of \(dataType) (\(expected))")
        }
    }
}
