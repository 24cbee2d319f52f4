/// Owned element storage of a ``Tensor``.
///
/// An enum of Swift arrays rather than a raw buffer: arrays give copy-on-write (so Reshape,
/// Flatten and Identity are zero-copy and constants are shared between concurrent requests
/// without locks) and new element types are added as new cases.
///
/// float32 is the compute type; int64, int32 and bool carry shapes, indices, token ids and
/// masks. `Bool` is one byte holding 0 or 1, which is exactly ONNX's BOOL raw layout.
enum TensorStorage: Sendable {
    case float32([Float])
    case int64([Int64])
    case int32([Int32])
    case bool([Bool])

    var elementType: ElementType {
        switch self {
        case .float32: .float32
        case .int64: .int64
        case .int32: .int32
        case .bool: .bool
        }
    }

    var count: Int {
        switch self {
        case .float32(let values): values.count
        case .int64(let values): values.count
        case .int32(let values): values.count
        case .bool(let values): values.count
        }
    }

    /// `count` elements of `type` for a kernel to overwrite (bools start false; numbers are
    /// left uninitialized).
    static func uninitialized(_ type: ElementType, count: Int) -> TensorStorage {
        switch type {
        case .int64: .int64([Int64](uninitializedCount: count) { _, n in n = count })
        case .int32: .int32([Int32](uninitializedCount: count) { _, n in n = count })
        case .bool: .bool([Bool](repeating: false, count: count))
        default: .float32([Float](uninitializedCount: count) { _, n in n = count })
        }
    }

    /// Element types a tensor can hold.
    static let supportedTypes: Set<ElementType> = [.float32, .int64, .int32, .bool]

    /// Elements picked by `indices` (a flat gather); the workhorse of the data-movement ops.
    func gathered(_ indices: [Int]) -> TensorStorage {
        switch self {
        case .float32(let v): .float32(Self.pick(v, indices))
        case .int64(let v): .int64(Self.pick(v, indices))
        case .int32(let v): .int32(Self.pick(v, indices))
        case .bool(let v): .bool(Self.pick(v, indices))
        }
    }

    @inline(__always)
    static func pick<T>(_ v: [T], _ indices: [Int]) -> [T] {
        v.withUnsafeBufferPointer { src in
            [T](uninitializedCount: indices.count) { out, n in
                for (i, j) in indices.enumerated() { (out.baseAddress! + i).initialize(to: src[j]) }
                n = indices.count
            }
        }
    }

    /// Concatenation of same-typed storages (callers check the types).
    static func concatenated(_ parts: [TensorStorage], as type: ElementType) -> TensorStorage {
        switch type {
        case .int64: .int64(parts.flatMap { (p: TensorStorage) -> [Int64] in if case .int64(let v) = p { v } else { [] } })
        case .int32: .int32(parts.flatMap { (p: TensorStorage) -> [Int32] in if case .int32(let v) = p { v } else { [] } })
        case .bool: .bool(parts.flatMap { (p: TensorStorage) -> [Bool] in if case .bool(let v) = p { v } else { [] } })
        default: .float32(parts.flatMap { (p: TensorStorage) -> [Float] in if case .float32(let v) = p { v } else { [] } })
        }
    }

    /// `count` copies of element 0 (ConstantOfShape, Expand of a scalar).
    func repeatedFirst(_ count: Int) -> TensorStorage {
        gathered([Int](repeating: 0, count: count))
    }

    /// The elements as Int64 (indices, shapes); floats are truncated toward zero.
    var int64Values: [Int64] {
        switch self {
        case .int64(let v): v
        case .int32(let v): v.map(Int64.init)
        case .bool(let v): v.map { $0 ? 1 : 0 }
        case .float32(let v): v.map { $0.isFinite ? Int64($0) : 0 }
        }
    }

    /// The elements as Float.
    var floatValues: [Float] {
        switch self {
        case .float32(let v): v
        case .int64(let v): v.map { Float($0) }
        case .int32(let v): v.map { Float($0) }
        case .bool(let v): v.map { $0 ? 1 : 0 }
        }
    }

    /// ONNX Cast to `type` (float→int truncates toward zero, NaN/out of range saturate to 0 like
    /// onnxruntime's defined cases; anything non-zero → true).
    func cast(to type: ElementType) -> TensorStorage {
        if type == elementType { return self }
        switch type {
        case .float32: return .float32(floatValues)
        case .int64:
            if case .float32(let v) = self { return .int64(v.map(Self.floatToInt64)) }
            return .int64(int64Values)
        case .int32:
            switch self {
            case .float32(let v): return .int32(v.map { Int32(truncatingIfNeeded: Self.floatToInt64($0)) })
            default: return .int32(int64Values.map { Int32(truncatingIfNeeded: $0) })
            }
        default:
            switch self {
            case .float32(let v): return .bool(v.map { $0 != 0 })
            case .int64(let v): return .bool(v.map { $0 != 0 })
            case .int32(let v): return .bool(v.map { $0 != 0 })
            case .bool: return self
            }
        }
    }

    static func floatToInt64(_ x: Float) -> Int64 {
        guard x.isFinite, x > -9.2233715e18, x < 9.2233715e18 else { return Int64.min }
        return Int64(x)
    }
}

/// Overflow-checked shape arithmetic shared by the parser, the shape checks and the kernels.
enum ShapeMath {
    /// Product of `dims`, or `nil` if a dimension is negative or the product exceeds `limit`
    /// (checked before multiplying, so it can never trap).
    static func elementCount(_ dims: [Int], limit: Int = Int.max) -> Int? {
        var product = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow, p <= limit else { return nil }
            product = p
        }
        return product
    }

    /// Product of `dims[range]` for already validated shapes.
    static func product(_ dims: [Int], _ range: Range<Int>) -> Int {
        var p = 1
        for i in range { p *= dims[i] }
        return p
    }

    /// Row-major strides of `dims`.
    static func strides(_ dims: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) { s[i] = acc; acc *= dims[i] }
        return s
    }
}
