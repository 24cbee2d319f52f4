/// Owned element storage of a ``Tensor``.
///
/// An enum of Swift arrays rather than a raw buffer: arrays give copy-on-write (so Reshape,
/// Flatten and Identity are zero-copy and constants are shared between concurrent requests
/// without locks) and new element types are added as new cases.
enum TensorStorage: Sendable {
    case float32([Float])
    case int64([Int64])

    var elementType: ElementType {
        switch self {
        case .float32: .float32
        case .int64: .int64
        }
    }

    var count: Int {
        switch self {
        case .float32(let values): values.count
        case .int64(let values): values.count
        }
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
}
