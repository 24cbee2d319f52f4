/// The geometry of one fused attention call (``AttentionKernel``) for one tuple of operand
/// shapes: extents, the effective scale, and for Q, K, V, the mask and the output, where each
/// batch's matrix starts and how its rows and columns are strided, after following the view
/// chains the fusion absorbed (head splits, transposes, the packed-QKV Gathers).
///
/// Computed once per shape by a plan's bind and per call by the general executor.
struct AttentionLayout: Sendable {
    /// One operand as the kernel reads it: per broadcast batch (`lead` index, row-major) the
    /// element offset of its matrix, and the strides of the matrix's rows and columns.
    struct Operand: Sendable {
        var resolution: ViewChain.Resolution
        var offsets: [Int]
        var rowStride: Int
        var columnStride: Int
    }

    /// Where the output goes: each batch's rows at `offsets` with `rowStride` (columns dense),
    /// in the output buffer, or in the scratch when ``staging`` says so.
    struct Output: Sendable {
        var offsets: [Int]
        var rowStride: Int
        var staging: Staging?
    }

    /// An output written densely into the scratch at float offset `start`, then followed
    /// through the output chain (`forward`, reading that scratch as its operand) and copied
    /// densely (`final`) into the output buffer: for chains whose inverse is not a view.
    struct Staging: Sendable {
        var start: Int
        var forward: ViewChain.Resolution
        var final: StridedView
    }

    let sq: Int, d: Int, sk: Int, dv: Int
    /// Broadcast (batch, head) matrices.
    let batches: Int
    let scale: Float
    let q: Operand, v: Operand
    /// K as `[Sk, D]` per batch: row stride over keys, column stride over the head dimension;
    /// one of them is 1 (``keysByRows`` says which).
    let k: Operand
    let mask: Operand?
    let output: Output
    /// The result's shape (after the output chain).
    let outShape: [Int]
    let outCount: Int
    /// Float offset of the core computation's working memory in the scratch: one region of
    /// ``coreScratchFloats`` per thread that may share the work.
    let coreScratch: Int
    let coreScratchFloats: Int
    /// Threads the layout has working memory for.
    let threads: Int
    let scratchFloats: Int

    /// Multiply-adds below which a call stays on one thread: waking a worker costs more.
    static let parallelWork = 32_768

    /// How many of `pool`'s threads share the (batch, head) matrices.
    func tasks(_ pool: IntraOpPool?) -> Int {
        guard let pool, batches > 1, batches * sq * sk * (d + dv) >= Self.parallelWork else { return 1 }
        return Swift.min(threads, pool.threadCount, batches)
    }

    /// Keys are read row by row (K's columns dense) rather than as rows of Kᵀ.
    var keysByRows: Bool { k.columnStride == 1 }

    /// - Parameters:
    ///   - shapes: the shapes of the fused node's Q, K (or Kᵀ), V and mask operands, before
    ///     their chains.
    ///   - operand: the fused node's inputs, for the chains' shape tensors and the scale factors.
    ///   - threads: the most threads that will share one call (working memory for each).
    init(_ kernel: AttentionKernel, shapes: [[Int]], operand: (Int) -> Tensor?, threads: Int, _ node: NodeExecutor) throws(InferenceError) {
        let views = kernel.views
        var scratch = 0
        var qr = try views.q.resolve(shapes[0], operand: operand, scratch: &scratch, node)
        var kr = try views.k.resolve(shapes[1], operand: operand, scratch: &scratch, node)
        var vr = try views.v.resolve(shapes[2], operand: operand, scratch: &scratch, node)
        var mr = kernel.hasMask ? try views.mask.resolve(shapes[3], operand: operand, scratch: &scratch, node) : nil
        for view in [qr.view, kr.view, vr.view] where view.rank < 2 {
            throw node.invalid("attention operands must have rank ≥ 2, got \(view.shape.shapeDescription)")
        }
        if kernel.keysTransposed {
            let r = kr.view.rank
            kr.view = kr.view.transposed(Array(0..<(r - 2)) + [r - 1, r - 2])
        }
        let qShape = qr.view.shape, kShape = kr.view.shape, vShape = vr.view.shape
        let sq = qShape[qShape.count - 2], d = qShape[qShape.count - 1]
        let sk = kShape[kShape.count - 2], dv = vShape[vShape.count - 1]
        guard kShape[kShape.count - 1] == d, vShape[vShape.count - 2] == sk else {
            throw node.invalid("attention shapes do not match: Q \(qShape.shapeDescription), K \(kShape.shapeDescription), V \(vShape.shapeDescription)")
        }
        if var m = mr {
            if m.view.rank < 2 { m.view = m.view.expanded(to: Array(repeating: 1, count: 2 - m.view.rank) + m.view.shape) }
            let shape = m.view.shape
            let rows = shape[shape.count - 2], cols = shape[shape.count - 1]
            guard rows == 1 || rows == sq, cols == 1 || cols == sk else {
                throw node.invalid("mask \(shape.shapeDescription) does not broadcast to [\(sq), \(sk)] scores")
            }
            mr = m
        }
        // Leading (batch, head) dimensions broadcast across all operands, as the MatMuls did.
        var lead: [Int] = []
        for view in [qr.view, kr.view, vr.view] + (mr.map { [$0.view] } ?? []) {
            guard let b = Broadcast.shape(lead, Array(view.shape.dropLast(2))) else {
                throw node.invalid("batch dimensions of Q \(qShape.shapeDescription), K \(kShape.shapeDescription), V \(vShape.shapeDescription) do not broadcast")
            }
            lead = b
        }
        let attentionShape = lead + [sq, dv]
        _ = try node.checkedCount(attentionShape)

        // Operands the kernel cannot read as they are (a matrix dimension spread over several
        // strides, columns that are not dense) are copied densely first.
        func readable(_ r: inout ViewChain.Resolution, _ kind: OperandKind) -> Operand {
            var strides = kind.strides(r.view)
            if strides == nil {
                scratch += r.materialize(at: scratch)
                strides = kind.strides(r.view)
            }
            let (row, column) = strides ?? (0, 1)
            return Operand(resolution: r, offsets: Self.batchOffsets(r.view, lead: lead), rowStride: row, columnStride: column)
        }
        self.q = readable(&qr, .denseColumns)
        self.k = readable(&kr, .keys)
        self.v = readable(&vr, .denseColumns)
        if var m = mr { self.mask = readable(&m, .broadcast) } else { self.mask = nil }

        // The output: through the inverse of its chain when that is a view with dense columns.
        var output: Output?
        var outShape = attentionShape
        let dense = Output(offsets: Self.batchOffsets(.contiguous(attentionShape), lead: lead), rowStride: dv)
        if views.output.steps.isEmpty {
            output = dense
        } else {
            let (inverse, resultShape) = try views.output.inverse(attentionShape, operand: operand, node)
            outShape = resultShape
            if let inverse, let (row, _) = OperandKind.denseColumns.strides(inverse) {
                output = Output(offsets: Self.batchOffsets(inverse, lead: lead), rowStride: row)
            }
        }
        self.coreScratch = scratch
        self.threads = Swift.max(1, threads)
        self.coreScratchFloats = kernel.coreScratchFloats(sq: sq, d: d, sk: sk, dv: dv, keysByRows: k.columnStride == 1)
        scratch += coreScratchFloats * self.threads
        if output == nil {
            let start = scratch
            scratch += ShapeMath.product(attentionShape, 0..<attentionShape.count)
            let forward = try views.output.resolve(attentionShape, operand: operand, scratch: &scratch, node)
            output = dense
            output!.staging = Staging(start: start, forward: forward, final: forward.view.dense)
        }
        self.output = output!
        self.outShape = outShape
        self.outCount = ShapeMath.product(outShape, 0..<outShape.count)
        self.sq = sq; self.d = d; self.sk = sk; self.dv = dv
        self.batches = ShapeMath.product(lead, 0..<lead.count)
        var scale = kernel.scale
        for i in views.scaleOperands {
            guard let t = operand(i), t.elementCount == 1, t.elementType == .float32 else {
                throw node.invalid("the attention scale factor (input \(i)) must be one float")
            }
            scale *= t.withUnsafeBytes { $0.load(as: Float.self) }
        }
        self.scale = scale
        self.scratchFloats = scratch
    }

    /// What strides the kernel can read an operand's matrices with.
    enum OperandKind {
        /// Q, V and the output: rows at any stride, columns dense.
        case denseColumns
        /// K (`[Sk, D]`): columns dense, or rows dense (read as Kᵀ).
        case keys
        /// The mask: any strides, 0 where it broadcasts over rows or columns.
        case broadcast

        /// The (row, column) strides of `view`'s matrices, nil when this kind cannot read them.
        func strides(_ view: TensorView) -> (row: Int, column: Int)? {
            let rank = view.rank, shape = view.shape
            guard let row = view.stride(rank - 2), let column = view.stride(rank - 1) else { return nil }
            let rows = shape[rank - 2], columns = shape[rank - 1]
            switch self {
            case .broadcast:
                return (row, column)   // a size-1 dimension has stride 0: it broadcasts
            case .denseColumns:
                guard columns == 1 || column == 1 else { return nil }
                return (rows == 1 ? columns : row, 1)
            case .keys:
                if columns == 1 || column == 1 { return (rows == 1 ? columns : row, 1) }
                if rows == 1 || row == 1 { return (1, column) }
                return nil
            }
        }
    }

    /// Element offset of each broadcast batch's matrix in `view` (rank ≥ 2) for the batch
    /// dimensions `lead`, which the view's leading dimensions broadcast to.
    static func batchOffsets(_ view: TensorView, lead: [Int]) -> [Int] {
        // The batch dimensions broadcast to `lead`, their atoms enumerated row-major (which is
        // `lead`'s row-major order).
        let leading = view.prefix(view.rank - 2).expanded(to: lead).dense
        return Generic.viewIndices(leading.dims, base: leading.base, strides: leading.steps)
    }
}
