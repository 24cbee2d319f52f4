/// ONNX Gemm (with the fused activation and residual of ``GemmAttributes``) bound to one plan's
/// shapes: what ``GemmExecutor`` decides per request (M, K, N, how C is applied) is decided
/// once, and the transposes and B copies it would allocate go to the plan's scratch space.
final class BoundGemmKernel: BoundKernel {
    enum CMode { case none, bias, broadcast(rowStride: Int, columnStride: Int) }

    let m: Int, n: Int, k: Int
    let alpha: Float, beta: Float
    let transA: Bool
    /// B is a runtime input stored `[N, K]`: transposed into scratch before the multiply.
    let transposeRuntimeB: Bool
    let packed: PackedMatrix?
    let c: CMode
    let residual: Bool
    let activation: EpilogueActivation
    let residualBeforeActivation: Bool
    let scratchBytes: Int
    private let transposedAFloats: Int, transposedBFloats: Int

    init?(attributes: GemmAttributes, inputs: [PlanValue?], outputs: [PlanValue?]) {
        guard let a = inputs[0], a.elementType == .float32, !a.shape.isEmpty else { return nil }
        if attributes.flattenA && !attributes.transA {
            k = a.shape[a.shape.count - 1]
            m = ShapeMath.product(a.shape, 0..<(a.shape.count - 1))
        } else {
            guard a.shape.count == 2 else { return nil }
            (m, k) = attributes.transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        }
        packed = attributes.packedB
        if let packed {
            guard packed.rows == k else { return nil }
            n = packed.columns
            transposeRuntimeB = false
        } else {
            guard inputs.count > 1, let b = inputs[1], b.shape.count == 2 else { return nil }
            n = attributes.transB ? b.shape[0] : b.shape[1]
            transposeRuntimeB = attributes.transB
        }
        alpha = attributes.alpha
        beta = attributes.beta
        transA = attributes.transA

        activation = attributes.activation
        residualBeforeActivation = attributes.residualBeforeActivation
        if inputs.count > 2, let cValue = inputs[2], beta != 0 {
            guard cValue.shape.count <= 2 else { return nil }
            let padded = [Int](repeating: 1, count: 2 - cValue.shape.count) + cValue.shape
            if beta == 1 && padded[0] == 1 && padded[1] == n {
                c = .bias
            } else {
                c = .broadcast(rowStride: padded[0] == 1 ? 0 : padded[1], columnStride: padded[1] == 1 ? 0 : 1)
            }
        } else {
            c = .none
        }
        residual = attributes.residual
        if residual {
            guard inputs.count > 3, inputs[3] != nil else { return nil }
        }
        transposedAFloats = transA ? m * k : 0
        transposedBFloats = transposeRuntimeB ? k * n : 0
        let workspace = packed == nil ? GemmKernel.workspaceFloats(m: m, n: n, k: k) : 0
        scratchBytes = (transposedAFloats + transposedBFloats + workspace) * MemoryLayout<Float>.stride
    }

    func readsInput(_ index: Int) -> Bool { index != 1 || packed == nil }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        guard m > 0, n > 0 else { return }
        let y: UnsafeMutablePointer<Float> = io.output(0)
        let scratch = scratchBytes > 0 ? io.scratch(as: Float.self) : nil
        var a: UnsafePointer<Float> = io.input(0)
        if transA, let scratch {
            GemmKernel.transpose(rows: k, cols: m, src: a, dst: scratch)
            a = UnsafePointer(scratch)
        }
        var epilogue = GemmEpilogue()
        epilogue.activation = activation
        epilogue.residualBeforeActivation = residualBeforeActivation
        var kernelBeta: Float = 0
        switch c {
        case .none:
            break
        case .bias:
            epilogue.bias = io.input(2)
        case .broadcast(let rowStride, let columnStride):
            GemmExecutor.broadcast(io.input(2), rowStride: rowStride, columnStride: columnStride, times: beta, into: y, m: m, n: n)
            kernelBeta = 1
        }
        if residual {
            epilogue.residual = io.input(3)
            epilogue.residualStride = n
        }
        if let packed {
            GemmKernel.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: packed, beta: kernelBeta, c: y, ldc: n,
                                epilogue: epilogue, pool: context.pool)
            return
        }
        var b: UnsafePointer<Float> = io.input(1)
        var workspace = scratch.map { $0 + transposedAFloats }
        if transposeRuntimeB, let space = workspace {
            GemmKernel.transpose(rows: n, cols: k, src: b, dst: space)
            b = UnsafePointer(space)
            workspace = space + transposedBFloats
        }
        GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: n, c: y, ldc: n,
                                      beta: kernelBeta, epilogue: epilogue, pool: context.pool, workspace: workspace)
    }
}
