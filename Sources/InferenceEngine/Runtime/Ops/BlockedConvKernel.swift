/// Conv (with its fused epilogue) writing the channel-blocked layout (``ChannelBlocks``), from
/// an NCHW or a blocked X. ``ChannelBlocking`` puts it in place of Conv at level `all`.
///
/// - General (and grouped) Conv: a register tile of up to 12 adjacent output pixels × one block
///   of 8 output channels; each reduction step `(input channel, tap)` broadcasts one input value
///   per pixel against a vector of 8 weights. A grouped Conv runs as a dense one whose weights
///   are zero between groups, so the lanes of a block may belong to different groups.
/// - Depthwise (one input channel per output channel): every tap of a pixel is one vector FMA
///   of 8 channels; X must be blocked.
///
/// A padded X is copied per image into thread scratch with zero borders, so the loops carry no
/// bounds checks. Accumulators start at the bias; the residual (blocked, like Y) and the
/// activation are applied as each vector leaves the registers.
struct BlockedConvKernel: NodeKernel {
    /// The Conv this replaces: window, group, epilogue and the load-time weights (required).
    let conv: ConvKernel
    /// Whether X is channel-blocked (else NCHW / NCW).
    let inputBlocked: Bool
    /// X's channel count (a blocked X holds it rounded up to whole blocks).
    let channels: Int

    init(conv: ConvKernel, inputBlocked: Bool, channels: Int) {
        precondition(conv.weights != nil, "a blocked Conv captures its weights at load")
        self.conv = conv
        self.inputBlocked = inputBlocked
        self.channels = channels
    }

    typealias Vector = ChannelBlocks.Vector

    /// Vector multiply-adds (output pixels × blocks × reduction steps) from which images split
    /// over the intra-op pool: about 5 µs of work, more than a spinning worker costs to join
    /// (cnn2d's depthwise and pointwise Convs at batch 64, 36K and 33K, took 29 µs alone).
    static let parallelThreshold = 1 << 15

    var isDepthwise: Bool {
        guard let w = conv.weights else { return false }
        return conv.group == channels && w.shape[0] == channels && w.shape[1] == 1
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let setup = try Setup(self, x: xs, node)
        let residualValues = try conv.residualInput(inputs, outShape: setup.outShape, node)
        let total = setup.total
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in ConvKernel.withOptionalPointer(residualValues) { pr in
                setup.run(x: px.baseAddress ?? UnsafePointer(py), residual: pr, y: py, pool: node.context.pool)
            } }
        }
        return [Tensor(shape: setup.outShape, storage: .float32(y))]
    }

    /// Everything a run needs that depends only on X's shape: geometry, the padded copy's
    /// layout, each output block's reduction steps (offsets into the image and packed weight
    /// vectors) and bias. Made per run on the general executor, once per plan when bound.
    struct Setup: Sendable {
        let kernel: BlockedConvKernel
        let n: Int, oh: Int, ow: Int
        let outBlocks: Int
        let outShape: [Int]
        let total: Int
        /// X's size per image, and the copy's geometry: X's pixel (0, 0) lands at (`top`, `left`)
        /// of a `rows × columns` buffer; without a copy the buffer is X itself.
        let inputImageFloats: Int, h: Int, w: Int
        let copies: Bool
        let rows: Int, columns: Int, top: Int, left: Int
        let rowStride: Int, pixelStride: Int, bufferFloats: Int
        /// Input floats between horizontally and vertically adjacent outputs.
        let outputStepX: Int, outputStepY: Int
        /// General: block `b`'s steps are `stepStart[b] ..< stepStart[b + 1]` of `offsets` and of
        /// `weights` (8 floats each). Depthwise: one step per tap, the same offsets for all blocks,
        /// and `weights` holds each block's taps.
        let stepStart: [Int]
        let offsets: [Int]
        let weights: [Float]
        let bias: [Float]

        init(_ kernel: BlockedConvKernel, x xs: [Int], _ node: NodeExecutor) throws(InferenceError) {
            let conv = kernel.conv, window = conv.window, weights = conv.weights!  // the ONNX filters
            let rank = window.spatialRank + 2
            let c = kernel.channels, width = ChannelBlocks.width
            if kernel.inputBlocked {
                guard xs.count == rank + 1, xs[1] == ChannelBlocks.count(c), xs[rank] == width else {
                    throw node.invalid("blocked X \(xs.shapeDescription) does not hold \(c) channels")
                }
            } else {
                guard xs.count == rank, xs[1] == c else { throw node.invalid("X \(xs.shapeDescription) must have \(c) channels") }
            }
            n = xs[0]
            h = window.spatialRank == 1 ? 1 : xs[2]
            w = xs[rank - 1]
            let g = window.geometry(h: h, w: w)
            (oh, ow) = (g.oh, g.ow)
            let m = weights.shape[0], cg = weights.shape[1]
            outBlocks = ChannelBlocks.count(m)
            outShape = [n, outBlocks] + (window.spatialRank == 1 ? [ow] : [oh, ow]) + [width]
            total = try node.checkedCount(outShape)
            self.kernel = kernel
            let (kh, kw) = window.kernel, (dh, dw) = window.dilation
            // Rows and columns of the padded image the windows reach, from the first padding row.
            let reachY = oh > 0 ? (oh - 1) * window.stride.h + (kh - 1) * dh + 1 : 0
            let reachX = ow > 0 ? (ow - 1) * window.stride.w + (kw - 1) * dw + 1 : 0
            copies = g.pt > 0 || g.pl > 0 || reachY > h || reachX > w
            (top, left) = copies ? (g.pt, g.pl) : (0, 0)
            (rows, columns) = copies ? (reachY, reachX) : (h, w)
            let blocked = kernel.inputBlocked
            pixelStride = blocked ? width : 1
            rowStride = columns * pixelStride
            let inBlocks = ChannelBlocks.count(c)
            bufferFloats = blocked ? inBlocks * rows * columns * width : c * rows * columns
            inputImageFloats = blocked ? inBlocks * h * w * width : c * h * w
            outputStepX = window.stride.w * pixelStride
            outputStepY = window.stride.h * rowStride
            // Locals, not properties: the nested functions must not capture a half-made self.
            let planeFloats = rows * columns, lineStride = rowStride, laneStride = pixelStride
            func channelOffset(_ ic: Int) -> Int { blocked ? (ic / width) * planeFloats * width + ic % width : ic * planeFloats }
            func tapOffset(_ ky: Int, _ kx: Int) -> Int { ky * dh * lineStride + kx * dw * laneStride }

            var starts = [0], steps: [Int] = [], packed: [Float] = []
            var lanes = [Float](repeating: 0, count: outBlocks * width)
            if let b = weights.bias { for oc in 0..<m { lanes[oc] = b[oc] } }
            let taps = kh * kw
            if kernel.isDepthwise {
                guard blocked else { throw .internalFailure("node '\(node.node.name)': a blocked depthwise Conv needs a blocked X") }
                for ky in 0..<kh { for kx in 0..<kw { steps.append(tapOffset(ky, kx)) } }
                packed = [Float](repeating: 0, count: outBlocks * taps * width)
                for ch in 0..<m {
                    for t in 0..<taps { packed[((ch / width) * taps + t) * width + ch % width] = weights.values[ch * taps + t] }
                }
            } else {
                let mg = m / conv.group
                for block in 0..<outBlocks {
                    let first = block * width, last = Swift.min(m, first + width) - 1
                    // Input channels of the groups this block's output channels belong to.
                    for ic in (first / mg) * cg ..< (last / mg + 1) * cg {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                steps.append(channelOffset(ic) + tapOffset(ky, kx))
                                for lane in 0..<width {
                                    let oc = first + lane
                                    let inGroup = oc < m && oc / mg == ic / cg
                                    packed.append(inGroup ? weights.values[((oc * cg + ic % cg) * kh + ky) * kw + kx] : 0)
                                }
                            }
                        }
                    }
                    starts.append(steps.count)
                }
            }
            stepStart = starts
            offsets = steps
            self.weights = packed
            bias = lanes
        }

        /// - Parameter residual: blocked like Y, when the Conv has a fused residual.
        func run(x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, pool: IntraOpPool?) {
            let perImage = outBlocks * oh * ow * Swift.max(1, offsets.count / Swift.max(1, outBlocks))
            let isDepthwise = kernel.isDepthwise
            offsets.withUnsafeBufferPointer { offsets in weights.withUnsafeBufferPointer { weights in
                bias.withUnsafeBufferPointer { bias in
                    IntraOpPool.forEachChunk(of: n, on: pool, worthSplitting: n * perImage >= BlockedConvKernel.parallelThreshold) { images in
                        // Zeroed once: each image then overwrites only the interior, so the borders stay zero.
                        let buffer = copies ? ThreadScratch.window.buffer(count: bufferFloats) : nil
                        buffer?.update(repeating: 0, count: bufferFloats)
                        for image in images {
                            let source = x + image * inputImageFloats
                            if let buffer { fill(buffer, from: source) }
                            let input = buffer.map { UnsafePointer($0) } ?? source
                            for block in 0..<outBlocks {
                                let at = (image * outBlocks + block) * oh * ow * ChannelBlocks.width
                                let out = BlockOutput(y: y + at, residual: residual.map { $0 + at },
                                                      bias: ChannelBlocks.load(bias.baseAddress! + block * ChannelBlocks.width),
                                                      activation: kernel.conv.activation,
                                                      residualBeforeActivation: kernel.conv.residualBeforeActivation)
                                if isDepthwise {
                                    depthwise(input + block * rows * columns * ChannelBlocks.width, out,
                                              weights: weights.baseAddress! + block * offsets.count * ChannelBlocks.width,
                                              offsets: offsets.baseAddress!, taps: offsets.count)
                                } else {
                                    let first = stepStart[block]
                                    general(input, out, weights: weights.baseAddress! + first * ChannelBlocks.width,
                                            offsets: offsets.baseAddress! + first, steps: stepStart[block + 1] - first)
                                }
                            }
                        }
                    }
                }
            } }
        }

        /// Copies one image of X into the interior of the zero-bordered buffer (rows are short:
        /// a plain loop, not a memcpy call per row).
        func fill(_ buffer: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>) {
            let lanes = pixelStride
            let planes = kernel.inputBlocked ? ChannelBlocks.count(kernel.channels) : kernel.channels
            let copied = Swift.max(0, Swift.min(w, columns - left)) * lanes
            let firstRow = Swift.max(0, top), lastRow = Swift.min(rows, top + h)
            guard copied > 0, firstRow < lastRow else { return }
            for plane in 0..<planes {
                let source = x + plane * h * w * lanes, target = buffer + plane * rows * columns * lanes + left * lanes
                for row in firstRow..<lastRow {
                    let from = source + (row - top) * w * lanes, to = target + row * rowStride
                    var i = 0
                    while i + ChannelBlocks.width <= copied { ChannelBlocks.store(ChannelBlocks.load(from + i), to + i); i &+= ChannelBlocks.width }
                    while i < copied { to[i] = from[i]; i &+= 1 }
                }
            }
        }

        /// One output block of one image: rows of tiles of up to 12 pixels.
        func general(_ input: UnsafePointer<Float>, _ out: BlockOutput, weights: UnsafePointer<Float>,
                     offsets: UnsafePointer<Int>, steps: Int) {
            // Two output rows per tile where there are two (up to 2 × 6 pixels), else one row
            // (up to 12), in balanced tiles: every tile keeps at least eight independent FMA
            // chains, which AVX2's FMA latency needs (16 pixels as 12 + 4 left a four-chain
            // tile; as 8 + 8 each chain carried two FMAs per step and stalled on latency).
            var oy = 0
            while oy < oh {
                let rows = oy + 1 < oh ? 2 : 1
                let perTile = RegisterTiling.evenGroupSize(ow, limit: rows == 2 ? 6 : 12)
                var ox = 0
                while ox < ow {
                    let count = Swift.min(perTile, ow - ox)
                    let x = input + oy * outputStepY + ox * outputStepX, tile = out.advanced(by: oy * ow + ox)
                    let row = TileRow(count: rows, inputOffset: outputStepY, outputPixels: ow)
                    switch outputStepX {
                    case 1: BlockedConvKernel.generalTile(Step1.self, pixels: count, row, steps: steps, weights: weights, offsets: offsets,
                                                          x: x, step: 1, tile)
                    case 8: BlockedConvKernel.generalTile(Step8.self, pixels: count, row, steps: steps, weights: weights, offsets: offsets,
                                                          x: x, step: 8, tile)
                    default: BlockedConvKernel.generalTile(StepAny.self, pixels: count, row, steps: steps, weights: weights,
                                                           offsets: offsets, x: x, step: outputStepX, tile)
                    }
                    ox += count
                }
                oy += rows
            }
        }

        /// One block of 8 channels of one image, four adjacent pixels at a time.
        func depthwise(_ input: UnsafePointer<Float>, _ out: BlockOutput, weights: UnsafePointer<Float>,
                       offsets: UnsafePointer<Int>, taps: Int) {
            for oy in 0..<oh {
                var ox = 0
                while ox < ow {
                    let x = input + oy * outputStepY + ox * outputStepX
                    let tile = out.advanced(by: oy * ow + ox)
                    if ox + 4 <= ow {
                        BlockedConvKernel.depthwiseTile(GemmKernel.Rows4.self, taps: taps, weights: weights, offsets: offsets, x: x,
                                                        step: outputStepX, tile)
                        ox += 4
                    } else {
                        BlockedConvKernel.depthwiseTile(GemmKernel.Rows1.self, taps: taps, weights: weights, offsets: offsets, x: x,
                                                        step: outputStepX, tile)
                        ox += 1
                    }
                }
            }
        }
    }

    /// Where a tile's vectors go, and the epilogue applied on the way.
    ///
    /// ReLU, leaky ReLU, Clip and none are one form, `x < 0 ? slope·x : x` clamped to
    /// `[low, high]`, applied inline with no branch on the activation; the transcendental ones
    /// go out of line.
    struct BlockOutput {
        var y: UnsafeMutablePointer<Float>
        var residual: UnsafePointer<Float>?
        var bias: Vector
        let activation: EpilogueActivation
        let residualBeforeActivation: Bool
        let transcendental: Bool
        let slope: Vector, low: Vector, high: Vector

        init(y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, bias: Vector, activation: EpilogueActivation,
             residualBeforeActivation: Bool) {
            self.y = y
            self.residual = residual
            self.bias = bias
            self.activation = activation
            self.residualBeforeActivation = residualBeforeActivation
            var (slope, low, high): (Float, Float, Float) = (1, -.infinity, .infinity)
            var transcendental = false
            switch activation {
            case .none: break
            case .relu: low = 0
            case .leakyRelu(let alpha): slope = alpha
            case .clip(let lo, let hi): (low, high) = (lo, hi)
            default: transcendental = true
            }
            self.transcendental = transcendental
            (self.slope, self.low, self.high) = (Vector(repeating: slope), Vector(repeating: low), Vector(repeating: high))
        }

        @inline(__always)
        func activate(_ x: Vector) -> Vector {
            if transcendental { return activation.applyTranscendental(SIMD16(lowHalf: x, highHalf: x)).lowHalf }
            return x.replacing(with: slope * x, where: x .< 0).replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        }

        @inline(__always)
        func advanced(by pixels: Int) -> BlockOutput {
            var moved = self
            moved.y += pixels * ChannelBlocks.width
            moved.residual = residual.map { $0 + pixels * ChannelBlocks.width }
            return moved
        }

        /// Residual and activation on pixel `j`'s accumulator (which started at the bias), then the store.
        @inline(__always)
        func store(_ j: Int, _ v: Vector) {
            var x = v
            if let residual {
                let r = ChannelBlocks.load(residual + j * ChannelBlocks.width)
                x = residualBeforeActivation ? activate(x + r) : activate(x) + r
            } else {
                x = activate(x)
            }
            ChannelBlocks.store(x, y + j * ChannelBlocks.width)
        }
    }

    /// Input floats between adjacent output pixels as a type, so that the common strides (1 for
    /// NCHW, 8 for blocked X) are constants: the twelve broadcast addresses are then immediate
    /// displacements instead of eleven live multiples of a runtime stride (which spilled).
    protocol PixelStep { static var value: Int { get } }
    enum Step1: PixelStep { static var value: Int { 1 } }
    enum Step8: PixelStep { static var value: Int { 8 } }
    /// The runtime `step` argument.
    enum StepAny: PixelStep { static var value: Int { 0 } }

    /// The second output row of a two-row tile: its input `inputOffset` floats and its output
    /// `outputPixels` pixels after the first row's.
    struct TileRow {
        var count: Int
        var inputOffset: Int
        var outputPixels: Int
    }

    /// Selects the specialisation for `pixels` (1...12 in one row, 1...6 per row in two).
    @inline(__always)
    static func generalTile<S: PixelStep>(_ s: S.Type, pixels: Int, _ row: TileRow, steps: Int, weights: UnsafePointer<Float>,
                                          offsets: UnsafePointer<Int>, x: UnsafePointer<Float>, step: Int, _ out: BlockOutput) {
        typealias G = GemmKernel
        if row.count == 2 {
            switch pixels {
            case 6: generalTile(S.self, G.Rows6.self, TwoRows.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
            case 5: generalTile(S.self, G.Rows5.self, TwoRows.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
            case 4: generalTile(S.self, G.Rows4.self, TwoRows.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
            case 3: generalTile(S.self, G.Rows3.self, TwoRows.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
            case 2: generalTile(S.self, G.Rows2.self, TwoRows.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
            default: generalTile(S.self, G.Rows1.self, TwoRows.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
            }
            return
        }
        switch pixels {
        case 12: generalTile(S.self, G.Rows12.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 11: generalTile(S.self, G.Rows11.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 10: generalTile(S.self, G.Rows10.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 9: generalTile(S.self, G.Rows9.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 8: generalTile(S.self, G.Rows8.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 7: generalTile(S.self, G.Rows7.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 6: generalTile(S.self, G.Rows6.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 5: generalTile(S.self, G.Rows5.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 4: generalTile(S.self, G.Rows4.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 3: generalTile(S.self, G.Rows3.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        case 2: generalTile(S.self, G.Rows2.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        default: generalTile(S.self, G.Rows1.self, OneRow.self, steps: steps, weights: weights, offsets: offsets, x: x, step: step, row, out)
        }
    }

    /// One or two output rows per tile, as a type so that it is a constant inside.
    protocol TileRowCount { static var two: Bool { get } }
    enum OneRow: TileRowCount { static var two: Bool { false } }
    enum TwoRows: TileRowCount { static var two: Bool { true } }

    /// `P.count` adjacent output pixels (`step` input floats apart) of one row, or of each of
    /// two rows (`R.two`, `P.count` ≤ 6), × 8 output channels: at most 12 accumulators, the
    /// weight vector and a broadcast fit AVX2's 16 registers.
    @inline(never)
    static func generalTile<S: PixelStep, P: GemmKernel.TileRows, R: TileRowCount>(
        _: S.Type, _: P.Type, _: R.Type, steps: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
        x: UnsafePointer<Float>, step runtimeStep: Int, _ row: TileRow, _ out: BlockOutput
    ) {
        let step = S.value > 0 ? S.value : runtimeStep
        // Accumulators 6...11 hold the second row's first pixels, or the one row's pixels 6...11.
        let high = R.two ? row.inputOffset - 6 &* step : 0
        @inline(__always) func live(_ k: Int) -> Bool { R.two ? k % 6 < P.count : k < P.count }
        let b = out.bias
        var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b, a8 = b, a9 = b, a10 = b, a11 = b
        var wp = weights
        for p in 0..<steps {
            let wv = ChannelBlocks.load(wp)
            let s = x + offsets[p], t = s + high
            a0 = a0.addingProduct(Vector(repeating: s[0]), wv)
            if live(1) { a1 = a1.addingProduct(Vector(repeating: s[step]), wv) }
            if live(2) { a2 = a2.addingProduct(Vector(repeating: s[2 &* step]), wv) }
            if live(3) { a3 = a3.addingProduct(Vector(repeating: s[3 &* step]), wv) }
            if live(4) { a4 = a4.addingProduct(Vector(repeating: s[4 &* step]), wv) }
            if live(5) { a5 = a5.addingProduct(Vector(repeating: s[5 &* step]), wv) }
            if live(6) { a6 = a6.addingProduct(Vector(repeating: t[6 &* step]), wv) }
            if live(7) { a7 = a7.addingProduct(Vector(repeating: t[7 &* step]), wv) }
            if live(8) { a8 = a8.addingProduct(Vector(repeating: t[8 &* step]), wv) }
            if live(9) { a9 = a9.addingProduct(Vector(repeating: t[9 &* step]), wv) }
            if live(10) { a10 = a10.addingProduct(Vector(repeating: t[10 &* step]), wv) }
            if live(11) { a11 = a11.addingProduct(Vector(repeating: t[11 &* step]), wv) }
            wp += ChannelBlocks.width
        }
        let second = R.two ? out.advanced(by: row.outputPixels - 6) : out
        out.store(0, a0)
        if live(1) { out.store(1, a1) }
        if live(2) { out.store(2, a2) }
        if live(3) { out.store(3, a3) }
        if live(4) { out.store(4, a4) }
        if live(5) { out.store(5, a5) }
        if live(6) { second.store(6, a6) }
        if live(7) { second.store(7, a7) }
        if live(8) { second.store(8, a8) }
        if live(9) { second.store(9, a9) }
        if live(10) { second.store(10, a10) }
        if live(11) { second.store(11, a11) }
    }

    /// `P.count` (1 or 4) adjacent output pixels of one depthwise block: per tap one weight
    /// vector and one input vector per pixel.
    @inline(never)
    static func depthwiseTile<P: GemmKernel.TileRows>(_: P.Type, taps: Int, weights: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                                                       x: UnsafePointer<Float>, step: Int, _ out: BlockOutput) {
        let b = out.bias
        var a0 = b, a1 = b, a2 = b, a3 = b
        for t in 0..<taps {
            let wv = ChannelBlocks.load(weights + t &* ChannelBlocks.width)
            let s = x + offsets[t]
            a0 = a0.addingProduct(ChannelBlocks.load(s), wv)
            if P.count > 1 { a1 = a1.addingProduct(ChannelBlocks.load(s + step), wv) }
            if P.count > 2 { a2 = a2.addingProduct(ChannelBlocks.load(s + 2 &* step), wv) }
            if P.count > 3 { a3 = a3.addingProduct(ChannelBlocks.load(s + 3 &* step), wv) }
        }
        out.store(0, a0)
        if P.count > 1 { out.store(1, a1) }
        if P.count > 2 { out.store(2, a2) }
        if P.count > 3 { out.store(3, a3) }
    }
}
