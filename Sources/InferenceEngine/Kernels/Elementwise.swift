/// ONNX binary arithmetic operators with numpy broadcasting.
enum BinaryOperator: String, Sendable {
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div"
}

/// ONNX unary activation operators.
enum UnaryOperator: String, Sendable {
    case relu = "Relu", sigmoid = "Sigmoid", tanh = "Tanh"
}

/// Pointer-based elementwise loops. The operator switch sits outside the loops so that each
/// loop body is a single arithmetic instruction the compiler can vectorize.
enum ElementwiseKernel {
    static func unary(_ op: UnaryOperator, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch op {
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .sigmoid:
            FastMath.map(x, y, count: count, FastMath.sigmoid)
        case .tanh:
            FastMath.map(x, y, count: count, FastMath.tanh)
        }
    }

    /// `y[i] = a[i·aStride] ∘ b[i·bStride]` for strides 0 (broadcast) or 1.
    @inline(__always)
    static func binary(_ op: BinaryOperator,
                       _ a: UnsafePointer<Float>, _ aStride: Int,
                       _ b: UnsafePointer<Float>, _ bStride: Int,
                       _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch op {
        case .add: loop(a, aStride, b, bStride, y, count) { $0 + $1 }
        case .sub: loop(a, aStride, b, bStride, y, count) { $0 - $1 }
        case .mul: loop(a, aStride, b, bStride, y, count) { $0 * $1 }
        case .div: loop(a, aStride, b, bStride, y, count) { $0 / $1 }
        }
    }

    @inline(__always)
    static func loop(_ a: UnsafePointer<Float>, _ aStride: Int,
                     _ b: UnsafePointer<Float>, _ bStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ count: Int,
                     _ f: (Float, Float) -> Float) {
        // Separate loops per stride pattern so each is a unit-stride (vectorizable) loop.
        switch (aStride, bStride) {
        case (1, 1): for i in 0..<count { y[i] = f(a[i], b[i]) }
        case (1, 0): let s = b.pointee; for i in 0..<count { y[i] = f(a[i], s) }
        case (0, 1): let s = a.pointee; for i in 0..<count { y[i] = f(s, b[i]) }
        default: let r = f(a.pointee, b.pointee); for i in 0..<count { y[i] = r }
        }
    }
}
