/// ONNX Gemm (`Y = alpha · A' · B' + beta · C`, C unidirectionally broadcast to `[M, N]`) plus the
/// fused activation and residual of ``GemmAttributes``.
///
/// A per-column bias (C of shape `[N]` or `[1, N]` with `beta = 1`, the common case) goes
/// through the kernel's epilogue, so Y is written once; any other C is first broadcast into Y
/// and accumulated onto.
struct GemmExecutor {
    let node: NodeExecutor
    let attributes: GemmAttributes

    func run(_ args: [Tensor?]) throws(InferenceError) -> Tensor {
        var (a, aShape) = try node.floats(args[0])
        var leading: [Int]
        if attributes.flattenA && !attributes.transA {
            guard !aShape.isEmpty else { throw node.invalid("A must have rank ≥ 1, got a scalar") }
            leading = Array(aShape.dropLast())
            aShape = [ShapeMath.product(leading, 0..<leading.count), aShape[aShape.count - 1]]
        } else {
            guard aShape.count == 2 else { throw node.invalid("A must be 2-D, got \(aShape.shapeDescription)") }
            if attributes.transA {
                a = GemmKernel.transposed(a, rows: aShape[0], cols: aShape[1])
                aShape = [aShape[1], aShape[0]]
            }
            leading = [aShape[0]]
        }
        let m = aShape[0], k = aShape[1]

        // B: packed at load, or this run's input (packed here when transposed, read in place otherwise).
        var packed = attributes.packedB
        var runtimeB: [Float] = []
        let n: Int
        if let packed {
            guard packed.rows == k else {
                throw node.invalid("inner dimensions do not match: A has K = \(k), B has K = \(packed.rows)")
            }
            n = packed.columns
        } else {
            let (values, bShape) = try node.floats(args[1])
            guard bShape.count == 2 else { throw node.invalid("B must be 2-D, got \(bShape.shapeDescription)") }
            let kb = attributes.transB ? bShape[1] : bShape[0]
            guard kb == k else {
                throw node.invalid("inner dimensions do not match: A' is \([m, k].shapeDescription), B is \(bShape.shapeDescription)\(attributes.transB ? " (transposed)" : "")")
            }
            n = attributes.transB ? bShape[0] : bShape[1]
            if attributes.transB {
                packed = Self.withPointer(values) { PackedMatrix(rows: k, columns: n, from: $0, ldb: k, transposed: true) }
            } else {
                runtimeB = values
            }
        }
        let outShape = leading + [n]
        let total = try node.checkedCount(outShape)

        var epilogue = GemmEpilogue()
        epilogue.activation = attributes.activation
        epilogue.residualBeforeActivation = attributes.residualBeforeActivation

        // C: a per-column bias rides in the epilogue; anything else is broadcast into Y first.
        var bias: [Float] = [], broadcastC: [Float] = [], cShape: [Int] = []
        let beta = attributes.beta
        if args.count > 2, args[2] != nil, beta != 0 {
            let (c, shape) = try node.floats(args[2])
            guard shape.count <= 2 else { throw node.invalid("C must have rank ≤ 2, got \(shape.shapeDescription)") }
            let padded = [Int](repeating: 1, count: 2 - shape.count) + shape
            guard (padded[0] == 1 || padded[0] == m), (padded[1] == 1 || padded[1] == n) else {
                throw node.invalid("C \(shape.shapeDescription) cannot be broadcast to [M, N] = \([m, n].shapeDescription)")
            }
            if beta == 1 && padded[0] == 1 && padded[1] == n { bias = c } else { broadcastC = c; cShape = padded }
        }
        var residual: [Float] = []
        if attributes.residual {
            guard args.count > 3, let r = args[3] else { throw node.invalid("the residual input (#3) is missing") }
            let (values, shape) = try node.floats(r)
            guard shape == outShape else {
                throw node.invalid("residual \(shape.shapeDescription) must have Y's shape \(outShape.shapeDescription)")
            }
            residual = values
            epilogue.residualStride = n
        }

        let pool = node.context.pool
        let alpha = attributes.alpha
        let y = node.outputFloats(total) { out, initialized in
            initialized = total
            guard total > 0, let pY = out.baseAddress else { return }
            var kernelBeta: Float = 0
            if !broadcastC.isEmpty {
                broadcastC.withUnsafeBufferPointer { c in
                    Self.broadcast(c.baseAddress!, rowStride: cShape[0] == 1 ? 0 : cShape[1], columnStride: cShape[1] == 1 ? 0 : 1,
                                   times: beta, into: pY, m: m, n: n)
                }
                kernelBeta = 1
            }
            Self.withPointer(a) { pA in
            Self.withPointer(bias) { pBias in
            Self.withPointer(residual) { pResidual in
                var epilogue = epilogue
                if !bias.isEmpty { epilogue.bias = pBias }
                if !residual.isEmpty { epilogue.residual = pResidual }
                if let packed {
                    GemmKernel.multiply(m: m, n: n, k: k, alpha: alpha, a: pA, lda: k, b: packed, beta: kernelBeta, c: pY, ldc: n,
                                        epilogue: epilogue, pool: pool)
                } else {
                    Self.withPointer(runtimeB) { pB in
                        GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: alpha, a: pA, lda: k, b: pB, ldb: n, c: pY, ldc: n,
                                                      beta: kernelBeta, epilogue: epilogue, pool: pool)
                    }
                }
            } } }
        }
        return Tensor(shape: outShape, storage: .float32(y))
    }

    /// `Y = beta · C` with C broadcast to `[M, N]` (strides 0 along a broadcast dimension of
    /// C's `[1|M, 1|N]` shape).
    static func broadcast(_ c: UnsafePointer<Float>, rowStride: Int, columnStride: Int, times beta: Float,
                          into y: UnsafeMutablePointer<Float>, m: Int, n: Int) {
        for i in 0..<m {
            let src = c + i * rowStride, dst = y + i * n
            if columnStride == 1 {
                for j in 0..<n { dst[j] = beta * src[j] }
            } else {
                dst.update(repeating: beta * src.pointee, count: n)
            }
        }
    }

    /// The array's elements, or (for an empty array, which has none) a pointer that is never read.
    static func withPointer<R>(_ values: [Float], _ body: (UnsafePointer<Float>) -> R) -> R {
        values.withUnsafeBufferPointer { buffer in
            // An aligned, non-null placeholder rather than the address of a stack variable:
            // nothing dereferences it, and no stack slot escapes into the kernels.
            body(buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)!)
        }
    }
}
