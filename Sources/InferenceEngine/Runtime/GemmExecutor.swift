/// ONNX Gemm: `Y = alpha · A' · B' + beta · C` with C unidirectionally broadcast to `[M, N]`.
struct GemmExecutor {
    let node: NodeExecutor
    let attributes: GemmAttributes

    func run(_ args: [Tensor?]) throws(InferenceError) -> Tensor {
        var (a, aShape) = try node.floats(args[0])
        guard aShape.count == 2 else { throw node.invalid("A must be 2-D, got \(aShape.shapeDescription)") }
        if attributes.transA {
            a = GemmKernel.transposed(a, rows: aShape[0], cols: aShape[1])
            aShape = [aShape[1], aShape[0]]
        }
        let m = aShape[0], k = aShape[1]

        let b: [Float], n: Int
        if let packed = attributes.packedB {
            guard attributes.k == k else {
                throw node.invalid("inner dimensions do not match: A has K = \(k), B has K = \(attributes.k)")
            }
            b = packed
            n = attributes.n
        } else {
            let (values, bShape) = try node.floats(args[1])
            guard bShape.count == 2 else { throw node.invalid("B must be 2-D, got \(bShape.shapeDescription)") }
            let kb = attributes.transB ? bShape[1] : bShape[0]
            guard kb == k else {
                throw node.invalid("inner dimensions do not match: A' is \([m, k].shapeDescription), B is \(bShape.shapeDescription)\(attributes.transB ? " (transposed)" : "")")
            }
            n = attributes.transB ? bShape[0] : bShape[1]
            b = attributes.transB ? GemmKernel.transposed(values, rows: bShape[0], cols: bShape[1]) : values
        }

        var c: [Float]? = nil, cShape: [Int] = []
        if args.count > 2, args[2] != nil, attributes.beta != 0 {
            (c, cShape) = try node.floats(args[2])
            let padded = [Int](repeating: 1, count: 2 - cShape.count) + cShape
            guard (padded[0] == 1 || padded[0] == m), (padded[1] == 1 || padded[1] == n) else {
                throw node.invalid("C \(cShape.shapeDescription) cannot be broadcast to [M, N] = \([m, n].shapeDescription)")
            }
            cShape = padded
        }

        let total = m * n
        let beta = attributes.beta, alpha = attributes.alpha
        let y = [Float](unsafeUninitializedCapacity: total) { out, initialized in
            initialized = total
            guard total > 0, let pY = out.baseAddress else { return }
            // Initialise Y with beta·C (broadcast) so the kernel only has to accumulate alpha·A·B.
            if let c {
                c.withUnsafeBufferPointer { pc in
                    let pC = pc.baseAddress!
                    let rowStride = cShape[0] == 1 ? 0 : cShape[1]
                    let colStride = cShape[1] == 1 ? 0 : 1
                    for i in 0..<m {
                        let src = pC + i * rowStride, dst = pY + i * n
                        if colStride == 1 { for j in 0..<n { dst[j] = beta * src[j] } } else {
                            let v = beta * src.pointee
                            for j in 0..<n { dst[j] = v }
                        }
                    }
                }
            } else {
                pY.initialize(repeating: 0, count: total)
            }
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard k > 0, let pA = pa.baseAddress, let pB = pb.baseAddress else { return }
                    GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: alpha, a: pA, lda: k, b: pB, ldb: n, c: pY, ldc: n)
                }
            }
        }
        return Tensor(shape: [m, n], storage: .float32(y))
    }
}
