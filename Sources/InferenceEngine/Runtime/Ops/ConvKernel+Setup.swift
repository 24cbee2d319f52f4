extension ConvKernel {
    /// Everything a Conv run needs that depends only on the shapes of X and W: the sizes, the
    /// algorithm, its tap and vector tables, the direct path's packed weights (when they are
    /// load-time constants) and how much scratch memory the run uses.
    ///
    /// The general executor makes one per run; a ``ShapePlan`` makes one when it binds the node
    /// (``BoundConvKernel``), so planned runs do none of this work and allocate nothing. Both
    /// then call ``run(x:w:bias:residual:y:scratch:pool:)``, the one implementation of the
    /// arithmetic.
    struct Setup: Sendable {
        enum Algorithm: Sendable {
            /// No output elements.
            case empty
            /// No input channels or an empty input plane: every tap is padding, so Y is the bias.
            case biasOnly
            case depthwise
            case depthwiseInterleaved
            case direct
            /// 1×1, stride 1, unpadded, per image: X's slabs are the im2col matrix.
            case pointwise
            case gemm
            /// im2col + GEMM with every image's columns in one matrix.
            case batchedGemm
        }

        let kernel: ConvKernel
        let d: Dimensions
        let plane: PhasePlane
        let algorithm: Algorithm
        let outShape: [Int]
        let total: Int
        /// Depthwise and im2col: each tap's offset in a ``PhasePlane``. Direct: each reduction
        /// step's (input channel, tap) offset in the group's planes.
        let offsets: [Int]
        /// Interleaved depthwise: per output row, then per output column, (first input index,
        /// first valid tap, end of the valid taps).
        let windowRanges: [Int]
        /// Interleaved depthwise: the output columns whose windows lie inside the row.
        let interior: Range<Int>
        /// Direct: per output vector its source offset, then its destination offset, then its lane count.
        let vectors: [Int]
        /// Direct: weights packed by ``packDirectWeights(_:_:into:)``; empty when W is read per
        /// run (it is then packed into the scratch space).
        let packedWeights: [Float]
        /// Direct: floats of the packed weights.
        let packedCount: Int
        /// Floats of scratch memory ``run(x:w:bias:residual:y:scratch:pool:)`` needs.
        let scratchFloats: Int

        /// Scratch layout of the im2col paths, in floats from the start (each region a whole
        /// number of vectors so the next one stays 64-byte aligned).
        private let productOffset: Int, paddedOffset: Int, workspaceOffset: Int

        /// - Parameters:
        ///   - xs: X's shape; `ws`: W's shape; `biasCount`: B's length (nil without B).
        ///   - node: for the messages of shapes that do not fit the node.
        init(_ kernel: ConvKernel, x xs: [Int], w ws: [Int], biasCount: Int?, _ node: NodeExecutor) throws(InferenceError) {
            let window = kernel.window, group = kernel.group
            guard xs.count == ws.count, xs.count == window.spatialRank + 2 else {
                throw node.invalid("X \(xs.shapeDescription) and W \(ws.shapeDescription) ranks differ")
            }
            let n = xs[0], c = xs[1], h = window.spatialRank == 1 ? 1 : xs[2], wd = xs[xs.count - 1]
            let m = ws[0], cg = ws[1]
            let kh = window.kernel.h, kw = window.kernel.w
            guard c == cg * group, m % group == 0 else {
                throw node.invalid("X has \(c) channels; W \(ws.shapeDescription) with group \(group) expects \(cg * group)")
            }
            guard (window.spatialRank == 1 ? ws[2] == kw : (ws[2] == kh && ws[3] == kw)) else {
                throw node.invalid("W \(ws.shapeDescription) does not match kernel_shape")
            }
            if let biasCount, biasCount != m { throw node.invalid("B has \(biasCount) values for \(m) output channels") }
            let g = window.geometry(h: h, w: wd)
            outShape = window.spatialRank == 1 ? [n, m, g.ow] : [n, m, g.oh, g.ow]
            total = try node.checkedCount(outShape)
            let d = Dimensions(n: n, c: c, h: h, w: wd, m: m, cg: cg, mg: m / group, oh: g.oh, ow: g.ow,
                               padTop: g.pt, padLeft: g.pl, kDim: cg * kh * kw)
            let plane = PhasePlane(outputs: (d.oh, d.ow), kernel: window.kernel, stride: window.stride, dilation: window.dilation,
                                   padTop: d.padTop, padLeft: d.padLeft)
            _ = try node.checkedCount([plane.rows, plane.phases, plane.width])   // absurd pads or dilations refuse, not allocate
            self.kernel = kernel
            self.d = d
            self.plane = plane

            var offsets: [Int] = [], windowRanges: [Int] = [], interior = 0..<0, vectors: [Int] = [], packedWeights: [Float] = []
            var packedCount = 0, scratch = 0, productOffset = 0, paddedOffset = 0, workspaceOffset = 0
            let algorithm: Algorithm
            if total == 0 {
                algorithm = .empty
            } else if d.kDim == 0 || n * c * h * wd == 0 {
                algorithm = .biasOnly
            } else if cg == 1 {
                if kernel.usesInterleavedDepthwise(d) {
                    algorithm = .depthwiseInterleaved
                    (windowRanges, interior) = kernel.depthwiseWindowRanges(d)
                } else {
                    algorithm = .depthwise
                    offsets = kernel.tapOffsets(plane)
                }
            } else if kernel.prefersDirect(d, plane) {
                algorithm = .direct
                offsets = kernel.directOffsets(d, plane)
                vectors = kernel.directVectors(d, plane)
                packedCount = kernel.directPackedCount(d)
                if let weights = kernel.weights {
                    packedWeights = [Float](uninitializedCount: packedCount) { buffer, initialized in
                        weights.values.withUnsafeBufferPointer { kernel.packDirectWeights($0.baseAddress!, d, into: buffer.baseAddress!) }
                        initialized = packedCount
                    }
                } else {
                    scratch = packedCount
                }
            } else {
                let batched = n > 1 && d.spatial < ConvKernel.batchedSpatialLimit
                let columns = batched ? n * d.spatial : d.spatial
                let workspace = GemmKernel.workspaceFloats(m: d.mg, n: columns, k: d.kDim)
                _ = try node.checkedCount([d.kDim, columns])   // the im2col matrix
                if kernel.isPointwise(d) && !batched {
                    algorithm = .pointwise
                    scratch = workspace
                } else {
                    algorithm = batched ? .batchedGemm : .gemm
                    offsets = kernel.tapOffsets(plane)
                    productOffset = Self.vectors(d.kDim * columns)
                    paddedOffset = productOffset + (batched ? Self.vectors(d.mg * columns) : 0)
                    workspaceOffset = paddedOffset + Self.vectors(plane.count)
                    scratch = workspaceOffset + workspace
                }
            }
            self.algorithm = algorithm
            self.offsets = offsets
            self.windowRanges = windowRanges
            self.interior = interior
            self.vectors = vectors
            self.packedWeights = packedWeights
            self.packedCount = packedCount
            self.scratchFloats = scratch
            self.productOffset = productOffset
            self.paddedOffset = paddedOffset
            self.workspaceOffset = workspaceOffset
        }

        /// `count` rounded up to whole 16-float vectors.
        private static func vectors(_ count: Int) -> Int { (count + 15) & ~15 }

        /// Computes Y (``total`` floats at `y`) through the kernel's epilogue.
        ///
        /// - Parameters:
        ///   - w: W in ONNX layout (may be nil when the direct path's weights were packed at setup).
        ///   - scratch: ``scratchFloats`` floats (nil when that is 0).
        func run(x: UnsafePointer<Float>, w: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                 y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>?, pool: IntraOpPool?) {
            switch algorithm {
            case .empty:
                return
            case .biasOnly:
                let spatial = d.spatial
                for row in 0..<(d.n * d.m) {
                    let line = y + row * spatial
                    line.initialize(repeating: bias?[row % d.m] ?? 0, count: spatial)
                    kernel.finish(line, line, count: spatial, residual: residual.map { $0 + row * spatial })
                }
            case .depthwise:
                offsets.withUnsafeBufferPointer {
                    kernel.runDepthwise(x, w!, bias, residual, y, d, plane, offsets: $0.baseAddress!, pool: pool)
                }
            case .depthwiseInterleaved:
                windowRanges.withUnsafeBufferPointer {
                    kernel.runDepthwiseInterleaved(x, w!, bias, residual, y, d, ranges: $0.baseAddress!, interior: interior, pool: pool)
                }
            case .direct:
                func direct(_ packed: UnsafePointer<Float>) {
                    offsets.withUnsafeBufferPointer { offsets in vectors.withUnsafeBufferPointer { vectors in
                        kernel.runDirect(x, packed, bias, residual, y, d, plane, vectors: vectors.baseAddress!, vectorCount: vectors.count / 3,
                                         offsets: offsets.baseAddress!, pool: pool)
                    } }
                }
                if packedWeights.isEmpty {
                    kernel.packDirectWeights(w!, d, into: scratch!)
                    direct(scratch!)
                } else {
                    packedWeights.withUnsafeBufferPointer { direct($0.baseAddress!) }
                }
            case .pointwise:
                kernel.runPointwise(x, w!, bias, residual, y, d, workspace: scratch, pool: pool)
            case .gemm, .batchedGemm:
                let s = scratch!
                offsets.withUnsafeBufferPointer { offsets in
                    kernel.runGemm(x, w!, bias, residual, y, d, plane, batched: algorithm == .batchedGemm, offsets: offsets.baseAddress!,
                                   columns: s, product: s + productOffset, padded: s + paddedOffset,
                                   workspace: scratchFloats > workspaceOffset ? s + workspaceOffset : nil, pool: pool)
                }
            }
        }
    }
}
