/// Conv as an implicit GEMM: the register-blocked tile of the SGEMM (up to 12 output channels ×
/// two 16-pixel vectors), with B's rows read straight from the padded input planes instead of an
/// im2col matrix.
///
/// Reduction step `p = (input channel, tap)` of an output vector reads the plane of that channel
/// at the tap's offset (``PhasePlane`` makes every tap of 16 adjacent outputs one contiguous
/// vector), so the per-step offsets are a table and no im2col copy is made. The epilogue (bias,
/// residual, activation) is applied to each accumulator as it leaves the registers, so Y is
/// written once. A 1×1, stride-1, unpadded Conv whose planes are whole vectors reads X itself.
///
/// For the shallow reductions this path takes (``directDepthLimit``), the im2col copy and the
/// separate bias/epilogue passes of im2col + GEMM cost as much as the multiply-adds.
extension ConvKernel {
    /// Deepest reduction (C/group · kH · kW) the direct path takes; deeper ones go through
    /// im2col + GEMM, whose packed K slices keep B in L1.
    static let directDepthLimit = 256
    /// Largest padded-plane copy (floats, all input channels of a group) the direct path makes.
    static let directPlaneLimit = 1 << 20
    /// Multiply-adds from which a Conv splits its images over the intra-op pool.
    static let parallelThreshold = 1 << 18
    /// Floats of input planes one chunk of output vectors should touch per output-channel
    /// block (the chunk is revisited once per block, so it should stay in L2).
    static let directChunkFloats = 1 << 15

    /// Where one register block writes: output channel `oc0` of one image.
    struct DirectOutput {
        var y: UnsafeMutablePointer<Float>
        var residual: UnsafePointer<Float>?
        var bias: UnsafePointer<Float>?
        var spatial: Int
        var activation: EpilogueActivation
        var residualBeforeActivation: Bool
    }

    /// Whether `runDirect` should take this shape.
    func prefersDirect(_ d: Dimensions, _ plane: PhasePlane) -> Bool {
        d.kDim <= Self.directDepthLimit && (readsInputDirectly(d) || d.cg * plane.count <= Self.directPlaneLimit)
    }

    /// 1×1, stride 1, no padding, and planes of whole vectors: X's planes are the B rows.
    func readsInputDirectly(_ d: Dimensions) -> Bool {
        window.kernel.h == 1 && window.kernel.w == 1 && window.stride.h == 1 && window.stride.w == 1
            && d.oh == d.h && d.ow == d.w && d.padTop == 0 && d.padLeft == 0 && d.spatial % 16 == 0
    }

    /// Output channels in balanced blocks of at most ``GemmKernel/rowTile``: the block count and rows per block.
    func directBlocks(_ d: Dimensions) -> (blocks: Int, rows: Int) {
        let blocks = (d.mg + GemmKernel.rowTile - 1) / GemmKernel.rowTile
        return (blocks, blocks > 0 ? (d.mg + blocks - 1) / blocks : 0)
    }

    /// Floats of ``packDirectWeights(_:_:into:)``'s output.
    func directPackedCount(_ d: Dimensions) -> Int {
        group * directBlocks(d).blocks * d.kDim * GemmKernel.rowTile
    }

    /// W's rows packed per group and channel block as `[p][12]` (the tile's broadcast order),
    /// rows past a block's count left zero.
    func packDirectWeights(_ w: UnsafePointer<Float>, _ d: Dimensions, into packed: UnsafeMutablePointer<Float>) {
        let rowTile = GemmKernel.rowTile, kDim = d.kDim
        let (blocks, blockRows) = directBlocks(d)
        packed.initialize(repeating: 0, count: directPackedCount(d))
        for gi in 0..<group {
            for bk in 0..<blocks {
                let base = packed + (gi * blocks + bk) * kDim * rowTile
                for r in 0..<Swift.max(0, Swift.min(blockRows, d.mg - bk * blockRows)) {
                    let row = w + (gi * d.mg + bk * blockRows + r) * kDim
                    for p in 0..<kDim { base[p &* rowTile &+ r] = row[p] }
                }
            }
        }
    }

    /// Output vectors: where each reads (from its channel's plane) and writes (in its output
    /// plane), as `[source...][destination...][lanes...]`. When consecutive output rows are
    /// consecutive in the source, vectors run across rows, so narrow planes still fill whole
    /// vectors.
    func directVectors(_ d: Dimensions, _ plane: PhasePlane) -> [Int] {
        let fromInput = readsInputDirectly(d)
        let rowStep = fromInput ? d.ow : window.stride.h * plane.rowStride
        let spatial = d.spatial
        let flat = rowStep == d.ow
        let perRow = (d.ow + 15) / 16
        let vectorCount = flat ? (spatial + 15) / 16 : d.oh * perRow
        var table = [Int](repeating: 0, count: 3 * vectorCount)
        for v in 0..<vectorCount {
            let (src, dst, count): (Int, Int, Int)
            if flat {
                (src, dst, count) = (v * 16, v * 16, Swift.min(16, spatial - v * 16))
            } else {
                let oy = v / perRow, ox = (v % perRow) * 16
                (src, dst, count) = (oy * rowStep + ox, oy * d.ow + ox, Swift.min(16, d.ow - ox))
            }
            table[v] = src; table[vectorCount + v] = dst; table[2 * vectorCount + v] = count
        }
        return table
    }

    /// Each reduction step's (input channel, tap) offset in the group's planes.
    func directOffsets(_ d: Dimensions, _ plane: PhasePlane) -> [Int] {
        let fromInput = readsInputDirectly(d)
        let channelStride = fromInput ? d.h * d.w : plane.count
        var offsets = [Int](repeating: 0, count: d.kDim)
        for ci in 0..<d.cg {
            for ky in 0..<window.kernel.h {
                for kx in 0..<window.kernel.w {
                    offsets[(ci * window.kernel.h + ky) * window.kernel.w + kx] =
                        ci * channelStride + (fromInput ? 0 : plane.tapOffset(ky: ky, kx: kx, dilation: window.dilation))
                }
            }
        }
        return offsets
    }

    /// - Parameters:
    ///   - packed: W as ``packDirectWeights(_:_:into:)`` lays it out.
    ///   - vectors: ``directVectors(_:_:)``; `offsets`: ``directOffsets(_:_:)``.
    func runDirect(_ x: UnsafePointer<Float>, _ packed: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                   _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ d: Dimensions, _ plane: PhasePlane,
                   vectors: UnsafePointer<Int>, vectorCount: Int, offsets: UnsafePointer<Int>, pool: IntraOpPool?) {
        let fromInput = readsInputDirectly(d)
        let spatial = d.spatial, kDim = d.kDim
        let rowTile = GemmKernel.rowTile
        let (blocks, blockRows) = directBlocks(d)
        // Vectors per chunk: the chunk's reads over all reduction steps stay near L2.
        let chunk = Swift.max(2, (Self.directChunkFloats / Swift.max(1, kDim * 16)) & ~1)
        let planeFloats = fromInput ? 0 : d.cg * plane.count
        let act = activation, before = residualBeforeActivation, tiling = tiling
        let source = vectors, destination = vectors + vectorCount, lanes = destination + vectorCount
        IntraOpPool.forEachChunk(of: d.n, on: pool, worthSplitting: d.n * d.m * spatial * kDim >= Self.parallelThreshold) { range in
            let scratch = fromInput ? nil : ThreadScratch.window.buffer(count: planeFloats)
            for b in range {
                for gi in 0..<group {
                    let input = x + (b * d.c + gi * d.cg) * d.h * d.w
                    let planes: UnsafePointer<Float>
                    if let scratch {
                        for ci in 0..<d.cg {
                            plane.fill(scratch + ci * plane.count, from: input + ci * d.h * d.w, h: d.h, w: d.w, padding: 0)
                        }
                        planes = UnsafePointer(scratch)
                    } else {
                        planes = input
                    }
                    var v0 = 0
                    while v0 < vectorCount {
                        let v1 = Swift.min(vectorCount, v0 + chunk)
                        for bk in 0..<blocks {
                            let first = bk * blockRows
                            let rows = Swift.min(blockRows, d.mg - first)
                            guard rows > 0 else { continue }
                            let oc0 = gi * d.mg + first
                            let out = DirectOutput(y: y + (b * d.m + oc0) * spatial, residual: residual.map { $0 + (b * d.m + oc0) * spatial },
                                                   bias: bias.map { $0 + oc0 }, spatial: spatial, activation: act,
                                                   residualBeforeActivation: before)
                            let a = packed + (gi * blocks + bk) * kDim * rowTile
                            var v = v0
                            while v < v1 {
                                let pair = v + 1 < v1
                                let second = pair ? v + 1 : v
                                Self.directTile(rows: rows, pair: pair, tiling: tiling, k: kDim, a: a, offsets: offsets,
                                                s0: planes + source[v], s1: planes + source[second], out,
                                                d0: destination[v], lanes0: lanes[v], d1: destination[second], lanes1: lanes[second])
                                v += pair ? 2 : 1
                            }
                        }
                        v0 = v1
                    }
                }
            }
        }
    }

    /// Runs a block of `rows` (1...12) output channels × one or two output vectors, as one
    /// micro-kernel call or, under ``RegisterTiling/compact``, as sub-tiles of at most 6
    /// channels × one vector.
    @inline(__always)
    static func directTile(rows: Int, pair: Bool, tiling: RegisterTiling, k: Int, a: UnsafePointer<Float>,
                           offsets: UnsafePointer<Int>, s0: UnsafePointer<Float>, s1: UnsafePointer<Float>, _ out: DirectOutput,
                           d0: Int, lanes0: Int, d1: Int, lanes1: Int) {
        if tiling == .wide || (rows <= tiling.rows && !pair) {
            directMicroTile(rows: rows, pair: pair, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0,
                            d1: d1, lanes1: lanes1)
            return
        }
        let perGroup = RegisterTiling.evenGroupSize(rows, limit: tiling.rows)
        var r0 = 0
        while r0 < rows {
            let count = Swift.min(perGroup, rows - r0)
            var sub = out
            sub.y += r0 &* out.spatial
            sub.residual = out.residual.map { $0 + r0 &* out.spatial }
            sub.bias = out.bias.map { $0 + r0 }
            directMicroTile(rows: count, pair: false, k: k, a: a + r0, offsets: offsets, s0: s0, s1: s0, sub, d0: d0,
                            lanes0: lanes0, d1: d0, lanes1: lanes0)
            if pair {
                directMicroTile(rows: count, pair: false, k: k, a: a + r0, offsets: offsets, s0: s1, s1: s1, sub, d0: d1,
                                lanes0: lanes1, d1: d1, lanes1: lanes1)
            }
            r0 += count
        }
    }

    /// Selects the specialisation for a block of `rows` (1...12) output channels.
    @inline(__always)
    static func directMicroTile(rows: Int, pair: Bool, k: Int, a: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                                s0: UnsafePointer<Float>, s1: UnsafePointer<Float>, _ out: DirectOutput,
                                d0: Int, lanes0: Int, d1: Int, lanes1: Int) {
        if pair {
            directTile(DirectPair.self, rows: rows, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        } else {
            directTile(DirectSingle.self, rows: rows, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        }
    }

    @inline(__always)
    static func directTile<V: DirectWidth>(_: V.Type, rows: Int, k: Int, a: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                                           s0: UnsafePointer<Float>, s1: UnsafePointer<Float>, _ out: DirectOutput,
                                           d0: Int, lanes0: Int, d1: Int, lanes1: Int) {
        typealias G = GemmKernel
        switch rows {
        case 12: directMicroTile(G.Rows12.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 11: directMicroTile(G.Rows11.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 10: directMicroTile(G.Rows10.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 9: directMicroTile(G.Rows9.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 8: directMicroTile(G.Rows8.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 7: directMicroTile(G.Rows7.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 6: directMicroTile(G.Rows6.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 5: directMicroTile(G.Rows5.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 4: directMicroTile(G.Rows4.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 3: directMicroTile(G.Rows3.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        case 2: directMicroTile(G.Rows2.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        default: directMicroTile(G.Rows1.self, V.self, k: k, a: a, offsets: offsets, s0: s0, s1: s1, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        }
    }

    /// `R.count` output channels × one or two output vectors over `k` reduction steps; step p
    /// reads the vectors at `s0 + offsets[p]` and `s1 + offsets[p]` and the weights `a[p·12 + r]`.
    @inline(never)
    static func directMicroTile<R: GemmKernel.TileRows, V: DirectWidth>(_: R.Type, _: V.Type, k: Int, a: UnsafePointer<Float>,
                                                                        offsets: UnsafePointer<Int>, s0: UnsafePointer<Float>,
                                                                        s1: UnsafePointer<Float>, _ out: DirectOutput,
                                                                        d0: Int, lanes0: Int, d1: Int, lanes1: Int) {
        let z = Vector()
        let stride = GemmKernel.rowTile
        var c0a = z, c0b = z, c1a = z, c1b = z, c2a = z, c2b = z, c3a = z, c3b = z, c4a = z, c4b = z, c5a = z, c5b = z, c6a = z, c6b = z, c7a = z, c7b = z, c8a = z, c8b = z, c9a = z, c9b = z, c10a = z, c10b = z, c11a = z, c11b = z
        var ap = a
        for p in 0..<k {
            let o = offsets[p]
            let b0 = FastMath.load(s0 + o)
            let b1 = V.pair ? FastMath.load(s1 + o) : z
            do { let x = Vector(repeating: ap[0]); c0a = c0a.addingProduct(x, b0); if V.pair { c0b = c0b.addingProduct(x, b1) } }
            if R.count > 1 { let x = Vector(repeating: ap[1]); c1a = c1a.addingProduct(x, b0); if V.pair { c1b = c1b.addingProduct(x, b1) } }
            if R.count > 2 { let x = Vector(repeating: ap[2]); c2a = c2a.addingProduct(x, b0); if V.pair { c2b = c2b.addingProduct(x, b1) } }
            if R.count > 3 { let x = Vector(repeating: ap[3]); c3a = c3a.addingProduct(x, b0); if V.pair { c3b = c3b.addingProduct(x, b1) } }
            if R.count > 4 { let x = Vector(repeating: ap[4]); c4a = c4a.addingProduct(x, b0); if V.pair { c4b = c4b.addingProduct(x, b1) } }
            if R.count > 5 { let x = Vector(repeating: ap[5]); c5a = c5a.addingProduct(x, b0); if V.pair { c5b = c5b.addingProduct(x, b1) } }
            if R.count > 6 { let x = Vector(repeating: ap[6]); c6a = c6a.addingProduct(x, b0); if V.pair { c6b = c6b.addingProduct(x, b1) } }
            if R.count > 7 { let x = Vector(repeating: ap[7]); c7a = c7a.addingProduct(x, b0); if V.pair { c7b = c7b.addingProduct(x, b1) } }
            if R.count > 8 { let x = Vector(repeating: ap[8]); c8a = c8a.addingProduct(x, b0); if V.pair { c8b = c8b.addingProduct(x, b1) } }
            if R.count > 9 { let x = Vector(repeating: ap[9]); c9a = c9a.addingProduct(x, b0); if V.pair { c9b = c9b.addingProduct(x, b1) } }
            if R.count > 10 { let x = Vector(repeating: ap[10]); c10a = c10a.addingProduct(x, b0); if V.pair { c10b = c10b.addingProduct(x, b1) } }
            if R.count > 11 { let x = Vector(repeating: ap[11]); c11a = c11a.addingProduct(x, b0); if V.pair { c11b = c11b.addingProduct(x, b1) } }
            ap += stride
        }
        directStore(0, c0a, c0b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1)
        if R.count > 1 { directStore(1, c1a, c1b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 2 { directStore(2, c2a, c2b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 3 { directStore(3, c3a, c3b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 4 { directStore(4, c4a, c4b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 5 { directStore(5, c5a, c5b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 6 { directStore(6, c6a, c6b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 7 { directStore(7, c7a, c7b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 8 { directStore(8, c8a, c8b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 9 { directStore(9, c9a, c9b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 10 { directStore(10, c10a, c10b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
        if R.count > 11 { directStore(11, c11a, c11b, pair: V.pair, out, d0: d0, lanes0: lanes0, d1: d1, lanes1: lanes1) }
    }

    /// Bias, residual and activation on output channel `r`'s accumulators, then the store.
    @inline(__always)
    static func directStore(_ r: Int, _ v0: Vector, _ v1: Vector, pair: Bool, _ out: DirectOutput,
                            d0: Int, lanes0: Int, d1: Int, lanes1: Int) {
        let bias = Vector(repeating: out.bias?[r] ?? 0)
        let row = out.y + r &* out.spatial
        var x0 = v0 + bias, x1 = v1 + bias
        if let residual = out.residual {
            let rr = residual + r &* out.spatial
            let r0 = VectorBlocks.load(rr + d0, count: lanes0)
            let r1 = pair ? VectorBlocks.load(rr + d1, count: lanes1) : Vector()
            if out.residualBeforeActivation {
                x0 = out.activation.apply(x0 + r0)
                if pair { x1 = out.activation.apply(x1 + r1) }
            } else {
                x0 = out.activation.apply(x0) + r0
                if pair { x1 = out.activation.apply(x1) + r1 }
            }
        } else if !out.activation.isNone {
            x0 = out.activation.apply(x0)
            if pair { x1 = out.activation.apply(x1) }
        }
        if lanes0 == 16 { FastMath.store(x0, row + d0) } else { VectorBlocks.store(x0, row + d0, count: lanes0) }
        if pair {
            if lanes1 == 16 { FastMath.store(x1, row + d1) } else { VectorBlocks.store(x1, row + d1, count: lanes1) }
        }
    }

    /// One or two output vectors per tile, as a type so that it is a constant inside.
    protocol DirectWidth { static var pair: Bool { get } }
    enum DirectPair: DirectWidth { static var pair: Bool { true } }
    enum DirectSingle: DirectWidth { static var pair: Bool { false } }
}
