import Testing
@testable import InferenceEngine

/// One Conv shape: input `[n, c, (h,) w]`, `m` output channels, window, group.
struct ConvCase: Sendable, CustomStringConvertible {
    var name: String
    var n: Int, c: Int, h: Int, w: Int, m: Int
    var kernel: (h: Int, w: Int)
    var stride: (h: Int, w: Int) = (1, 1)
    var dilation: (h: Int, w: Int) = (1, 1)
    var pads: (t: Int, l: Int, b: Int, r: Int) = (0, 0, 0, 0)
    var group = 1
    var oneDimensional = false
    var description: String { name }

    var window: Window2D {
        Window2D(kernel: kernel, stride: stride, dilation: dilation, pads: pads, autoPad: .notSet, ceilMode: false,
                 spatialRank: oneDimensional ? 1 : 2)
    }
    var inputShape: [Int] { oneDimensional ? [n, c, w] : [n, c, h, w] }
    var weightShape: [Int] { oneDimensional ? [m, c / group, kernel.w] : [m, c / group, kernel.h, kernel.w] }
}

/// The epilogue combinations the optimizer can fuse.
struct EpilogueCase: Sendable, CustomStringConvertible {
    var activation: EpilogueActivation
    var residual: Bool
    var before: Bool
    var description: String { "\(activation) residual=\(residual) before=\(before)" }
}

@Suite("Conv kernel")
struct ConvKernelTests {
    static let shapes: [ConvCase] = [
        // Depthwise (one input channel per group): stride 2, padding, dilation, a depth multiplier, widths past 16.
        ConvCase(name: "depthwise 3x3 s2", n: 2, c: 8, h: 16, w: 16, m: 8, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1), group: 8),
        ConvCase(name: "depthwise 3x3 wide", n: 1, c: 3, h: 5, w: 37, m: 3, kernel: (3, 3), pads: (1, 1, 1, 1), group: 3),
        ConvCase(name: "depthwise 5x3 dilated multiplier 2", n: 2, c: 3, h: 9, w: 21, m: 6, kernel: (5, 3), stride: (1, 3),
                 dilation: (2, 2), pads: (2, 0, 3, 4), group: 3),
        ConvCase(name: "depthwise 1-D", n: 3, c: 8, h: 1, w: 16, m: 8, kernel: (1, 3), stride: (1, 2), pads: (0, 1, 0, 1), group: 8,
                 oneDimensional: true),
        // Interleaved depthwise (output rows under 16): a partial block of planes, asymmetric
        // pads, strides and dilations per axis, windows made only of padding, rows of fewer than
        // 4 outputs, input rows and columns no window reaches.
        ConvCase(name: "depthwise interleaved odd", n: 3, c: 7, h: 9, w: 11, m: 7, kernel: (3, 5), stride: (2, 3), dilation: (2, 1),
                 pads: (2, 1, 0, 3), group: 7),
        ConvCase(name: "depthwise interleaved padding-only corners", n: 2, c: 5, h: 6, w: 6, m: 5, kernel: (3, 3), pads: (3, 3, 3, 3), group: 5),
        ConvCase(name: "depthwise interleaved 1-D dilated", n: 4, c: 6, h: 1, w: 13, m: 6, kernel: (1, 5), dilation: (1, 2),
                 pads: (0, 4, 0, 1), group: 6, oneDimensional: true),
        ConvCase(name: "depthwise interleaved narrow unreached", n: 2, c: 8, h: 6, w: 7, m: 8, kernel: (3, 3), stride: (2, 2), group: 8),
        // 1x1: straight on the input (large plane) and batched (small plane); grouped.
        ConvCase(name: "pointwise large", n: 2, c: 8, h: 16, w: 17, m: 16, kernel: (1, 1)),
        ConvCase(name: "pointwise batched grouped", n: 3, c: 8, h: 8, w: 8, m: 6, kernel: (1, 1), group: 2),
        // im2col + GEMM per image and batched.
        ConvCase(name: "3x3 per image", n: 2, c: 3, h: 16, w: 16, m: 8, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(name: "3x3 batched strided", n: 3, c: 4, h: 9, w: 11, m: 5, kernel: (3, 3), stride: (2, 2), pads: (1, 0, 1, 2)),
        ConvCase(name: "grouped dilated", n: 2, c: 6, h: 7, w: 9, m: 4, kernel: (2, 3), dilation: (2, 1), pads: (1, 1, 0, 0), group: 2),
        ConvCase(name: "1-D", n: 3, c: 4, h: 1, w: 32, m: 8, kernel: (1, 5), pads: (0, 2, 0, 2), oneDimensional: true),
        ConvCase(name: "1-D grouped dilated", n: 3, c: 8, h: 1, w: 16, m: 8, kernel: (1, 3), dilation: (1, 2), pads: (0, 2, 0, 2),
                 group: 2, oneDimensional: true),
        ConvCase(name: "1-D single image", n: 1, c: 2, h: 1, w: 300, m: 3, kernel: (1, 4), stride: (1, 3), oneDimensional: true),
        // Direct (implicit GEMM): a ragged 1x1 through a plane copy, two channel blocks, and the
        // deepest reduction it takes over several chunks of output vectors.
        ConvCase(name: "pointwise ragged two blocks", n: 2, c: 5, h: 3, w: 7, m: 13, kernel: (1, 1)),
        ConvCase(name: "direct deepest chunked", n: 1, c: 16, h: 40, w: 40, m: 5, kernel: (4, 4)),
        // Reductions too deep for the direct path: im2col + GEMM per image, batched, and 1x1 on X.
        ConvCase(name: "deep 3x3 per image", n: 2, c: 32, h: 17, w: 18, m: 20, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(name: "deep 3x3 batched", n: 3, c: 32, h: 6, w: 7, m: 14, kernel: (3, 3), stride: (1, 2), pads: (1, 1, 1, 1)),
        ConvCase(name: "deep pointwise", n: 2, c: 260, h: 16, w: 17, m: 7, kernel: (1, 1)),
    ]

    /// Shapes large enough to split their images over an intra-op pool, one per algorithm.
    static let parallelShapes: [ConvCase] = [
        ConvCase(name: "direct", n: 8, c: 3, h: 16, w: 16, m: 8, kernel: (3, 3), pads: (1, 1, 1, 1)),
        ConvCase(name: "depthwise interleaved", n: 64, c: 8, h: 16, w: 16, m: 8, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1), group: 8),
        ConvCase(name: "depthwise phase plane", n: 16, c: 8, h: 32, w: 32, m: 8, kernel: (3, 3), pads: (1, 1, 1, 1), group: 8),
    ]

    static let epilogues: [EpilogueCase] = [
        EpilogueCase(activation: .none, residual: false, before: false),
        EpilogueCase(activation: .relu, residual: false, before: false),
        EpilogueCase(activation: .sigmoid, residual: false, before: false),
        EpilogueCase(activation: .tanh, residual: false, before: false),
        EpilogueCase(activation: .clip(min: 0, max: 6), residual: false, before: false),
        EpilogueCase(activation: .none, residual: true, before: false),
        EpilogueCase(activation: .relu, residual: true, before: true),
        EpilogueCase(activation: .leakyRelu(alpha: 0.1), residual: true, before: false),
        EpilogueCase(activation: .gelu(approximateTanh: false), residual: true, before: true),
        EpilogueCase(activation: .gelu(approximateTanh: true), residual: true, before: false),
    ]

    static func random(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 500 }
    }

    /// Direct definition of Conv (Double accumulation) followed by the scalar reference epilogue.
    static func reference(_ s: ConvCase, x: [Float], w: [Float], bias: [Float]?, residual: [Float]?, _ e: EpilogueCase) -> ([Float], [Int]) {
        let g = s.window.geometry(h: s.h, w: s.w)
        let cg = s.c / s.group, mg = s.m / s.group
        var y: [Float] = []
        for b in 0..<s.n {
            for oc in 0..<s.m {
                let gi = oc / mg
                for oy in 0..<g.oh {
                    for ox in 0..<g.ow {
                        var sum = Double(bias?[oc] ?? 0)
                        for ci in 0..<cg {
                            let ch = gi * cg + ci
                            for ky in 0..<s.kernel.h {
                                for kx in 0..<s.kernel.w {
                                    let iy = oy * s.stride.h - g.pt + ky * s.dilation.h, ix = ox * s.stride.w - g.pl + kx * s.dilation.w
                                    guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                                    sum += Double(x[((b * s.c + ch) * s.h + iy) * s.w + ix])
                                        * Double(w[((oc * cg + ci) * s.kernel.h + ky) * s.kernel.w + kx])
                                }
                            }
                        }
                        y.append(Float(sum))
                    }
                }
            }
        }
        if let residual {
            for i in y.indices {
                y[i] = e.before ? e.activation.apply(y[i] + residual[i]) : e.activation.apply(y[i]) + residual[i]
            }
        } else {
            y = y.map { e.activation.apply($0) }
        }
        return (y, s.oneDimensional ? [s.n, s.m, g.ow] : [s.n, s.m, g.oh, g.ow])
    }

    static func run(_ kernel: ConvKernel, _ inputs: [Tensor?]) throws -> Tensor {
        let node = CompiledNode(name: "conv", opType: "Conv", operation: .kernel(kernel), inputs: [], outputs: [0])
        return try kernel.run(inputs, NodeExecutor(node: node))[0]
    }

    @Test(arguments: shapes)
    func matchesNaiveConvolution(_ s: ConvCase) throws {
        var rng = SplitMix64(seed: UInt64(s.n * 1000 + s.c * 100 + s.w))
        let x = Self.random(s.inputShape.reduce(1, *), &rng)
        let w = Self.random(s.weightShape.reduce(1, *), &rng)
        let bias = Self.random(s.m, &rng)
        let base = ConvKernel(window: s.window, group: s.group)
        for e in Self.epilogues {
            for withBias in [true, false] {
                let (_, outShape) = Self.reference(s, x: x, w: w, bias: nil, residual: nil, e)
                let residual = e.residual ? Self.random(outShape.reduce(1, *), &rng) : nil
                let (expected, shape) = Self.reference(s, x: x, w: w, bias: withBias ? bias : nil, residual: residual, e)
                let fused = base.fused(activation: e.activation, residual: e.residual, residualBeforeActivation: e.before)
                let b: Tensor? = withBias ? Tensor(shape: [s.m], scalars: bias) : nil
                let r: Tensor? = residual.map { Tensor(shape: shape, scalars: $0) }
                // Weights as node inputs, and as load-time constants (the inputs then go unread).
                let fromInputs = try Self.run(fused, [Tensor(shape: s.inputShape, scalars: x), Tensor(shape: s.weightShape, scalars: w), b, r])
                var constant = fused
                constant.weights = ConvKernel.Weights(values: w, shape: s.weightShape, bias: withBias ? bias : nil)
                let fromConstants = try Self.run(constant, [Tensor(shape: s.inputShape, scalars: x), nil, nil, r])
                for (label, got) in [("inputs", fromInputs), ("constants", fromConstants)] {
                    #expect(got.shape == shape, "\(s) \(e) \(label)")
                    assertClose(got.floats ?? [], expected, context: "\(s), \(e), bias \(withBias), weights from \(label)")
                }
            }
        }
    }

    /// The direct path's 12-channel × two-vector tiles and their AVX2 sub-tiles (at most 6
    /// channels × one vector) give bit-identical results for every channel-block size, single
    /// and paired vectors, ragged lanes, bias, residual and activation.
    @Test(arguments: [1, 3, 5, 7, 8, 11, 12, 13, 20])
    func registerTilingsAgreeBitForBit(channels m: Int) throws {
        let s = ConvCase(name: "direct \(m)", n: 2, c: 3, h: 7, w: 9, m: m, kernel: (3, 3), pads: (1, 1, 1, 1))
        var rng = SplitMix64(seed: UInt64(m))
        let x = Tensor(shape: s.inputShape, scalars: Self.random(s.inputShape.reduce(1, *), &rng))
        let w = Self.random(s.weightShape.reduce(1, *), &rng), bias = Self.random(m, &rng)
        let (_, outShape) = Self.reference(s, x: x.floats!, w: w, bias: nil, residual: nil, Self.epilogues[0])
        let residual = Tensor(shape: outShape, scalars: Self.random(outShape.reduce(1, *), &rng))
        var kernel = ConvKernel(window: s.window, group: 1).fused(activation: .leakyRelu(alpha: 0.1), residual: true,
                                                                  residualBeforeActivation: true)
        kernel.weights = ConvKernel.Weights(values: w, shape: s.weightShape, bias: bias)
        let setup = try ConvKernel.Setup(kernel, x: s.inputShape, w: s.weightShape, biasCount: m,
                                         NodeExecutor(node: CompiledNode(name: "conv", opType: "Conv", operation: .kernel(kernel),
                                                                         inputs: [], outputs: [0])))
        guard case .direct = setup.algorithm else { Issue.record("\(s) does not take the direct path"); return }
        var results: [[Float]] = []
        for tiling in RegisterTiling.allCases {
            var k = kernel
            k.tiling = tiling
            results.append(try Self.run(k, [x, nil, nil, residual]).floats ?? [])
        }
        let same = results[0] == results[1]
        #expect(same, "\(s): wide and compact tiles differ")
        let (expected, _) = Self.reference(s, x: x.floats!, w: w, bias: bias, residual: residual.floats!,
                                           EpilogueCase(activation: .leakyRelu(alpha: 0.1), residual: true, before: true))
        assertClose(results[1], expected, context: "\(s) compact")
    }

    /// The interleaved depthwise cases above really take that path (their padding, strides and
    /// dilations are what its border windows must get right).
    @Test func interleavedDepthwiseCasesTakeThatPath() throws {
        let cases = Self.shapes.filter { $0.name.hasPrefix("depthwise interleaved") || $0.name == "depthwise 3x3 s2" || $0.name == "depthwise 1-D" }
        #expect(cases.count == 6)
        for s in cases {
            let node = CompiledNode(name: "conv", opType: "Conv", operation: .kernel(ConvKernel(window: s.window, group: s.group)),
                                    inputs: [], outputs: [0])
            let setup = try ConvKernel.Setup(ConvKernel(window: s.window, group: s.group), x: s.inputShape, w: s.weightShape, biasCount: s.m,
                                             NodeExecutor(node: node))
            let interleaved = if case .depthwiseInterleaved = setup.algorithm { true } else { false }
            #expect(interleaved, "\(s): \(setup.algorithm)")
        }
    }

    /// The interleaved depthwise path adds each output's valid taps in the same order as the
    /// phase-plane path (which adds zeros for the padding ones), whichever of its blocks or
    /// single outputs computes it, so the two agree exactly (`==`: a zero's sign may differ).
    @Test func interleavedDepthwiseEqualsPhasePlanePath() throws {
        for s in Self.shapes where s.name.hasPrefix("depthwise interleaved") || s.name == "depthwise 3x3 s2" || s.name == "depthwise 1-D" {
            var rng = SplitMix64(seed: UInt64(s.w * 3 + s.c))
            let x = Self.random(s.inputShape.reduce(1, *), &rng), w = Self.random(s.weightShape.reduce(1, *), &rng)
            let bias = Self.random(s.m, &rng)
            let kernel = ConvKernel(window: s.window, group: s.group).fused(activation: .leakyRelu(alpha: 0.25))
            let node = CompiledNode(name: "conv", opType: "Conv", operation: .kernel(kernel), inputs: [], outputs: [0])
            let setup = try ConvKernel.Setup(kernel, x: s.inputShape, w: s.weightShape, biasCount: s.m, NodeExecutor(node: node))
            var interleaved = [Float](repeating: .nan, count: setup.total), phasePlane = interleaved
            let offsets = kernel.tapOffsets(setup.plane)
            x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in bias.withUnsafeBufferPointer { pb in
                interleaved.withUnsafeMutableBufferPointer { py in
                    setup.run(x: px.baseAddress!, w: pw.baseAddress, bias: pb.baseAddress, residual: nil, y: py.baseAddress!, scratch: nil, pool: nil)
                }
                phasePlane.withUnsafeMutableBufferPointer { py in offsets.withUnsafeBufferPointer { po in
                    kernel.runDepthwise(px.baseAddress!, pw.baseAddress!, pb.baseAddress, nil, py.baseAddress!, setup.d, setup.plane,
                                        offsets: po.baseAddress!, pool: nil)
                } }
            } } }
            let mismatch = interleaved.indices.first { interleaved[$0] != phasePlane[$0] }
            #expect(mismatch == nil, "\(s): output \(mismatch ?? -1) differs")
        }
    }

    /// With an intra-op pool the images split over threads; every output must be exactly the
    /// serial one (each is computed by the same operations either way).
    @Test(arguments: parallelShapes)
    func splitsImagesOverThePool(_ s: ConvCase) throws {
        var rng = SplitMix64(seed: UInt64(s.n * 7 + s.c))
        let x = Tensor(shape: s.inputShape, scalars: Self.random(s.inputShape.reduce(1, *), &rng))
        let w = Self.random(s.weightShape.reduce(1, *), &rng), bias = Self.random(s.m, &rng)
        let e = EpilogueCase(activation: .relu, residual: true, before: false)
        let g = s.window.geometry(h: s.h, w: s.w)
        let outShape = [s.n, s.m, g.oh, g.ow]
        let residual = Self.random(outShape.reduce(1, *), &rng)
        var kernel = ConvKernel(window: s.window, group: s.group).fused(activation: .relu, residual: true)
        kernel.weights = ConvKernel.Weights(values: w, shape: s.weightShape, bias: bias)
        let inputs: [Tensor?] = [x, nil, nil, Tensor(shape: outShape, scalars: residual)]
        let serial = try Self.run(kernel, inputs)
        let pool = IntraOpPool(threadCount: 2)
        let node = CompiledNode(name: "conv", opType: "Conv", operation: .kernel(kernel), inputs: [], outputs: [0])
        let jobsBefore = pool.jobCount
        let parallel = try kernel.run(inputs, NodeExecutor(node: node, context: ExecutionContext(pool: pool)))[0]
        #expect(pool.jobCount > jobsBefore, "\(s) should have gone parallel")
        #expect(parallel.shape == serial.shape)
        #expect(parallel.floats == serial.floats, "\(s): parallel and serial results differ")
        let (expected, _) = Self.reference(s, x: x.floats ?? [], w: w, bias: bias, residual: residual, e)
        assertClose(parallel.floats ?? [], expected, context: "\(s) parallel")
    }

    @Test func foldsBatchNormalization() throws {
        let s = ConvCase(name: "bn", n: 2, c: 3, h: 6, w: 7, m: 4, kernel: (3, 3), pads: (1, 1, 1, 1))
        var rng = SplitMix64(seed: 99)
        let x = Self.random(s.inputShape.reduce(1, *), &rng), w = Self.random(s.weightShape.reduce(1, *), &rng)
        let bias = Self.random(s.m, &rng)
        let scale = Self.random(s.m, &rng), shift = Self.random(s.m, &rng), mean = Self.random(s.m, &rng)
        let variance = Self.random(s.m, &rng).map { abs($0) + 0.1 }
        let epsilon: Float = 1e-3
        let plain = EpilogueCase(activation: .none, residual: false, before: false)
        var (expected, shape) = Self.reference(s, x: x, w: w, bias: bias, residual: nil, plain)
        let planeSize = expected.count / (s.n * s.m)
        for i in expected.indices {
            let oc = (i / planeSize) % s.m
            expected[i] = (expected[i] - mean[oc]) / (variance[oc] + epsilon).squareRoot() * scale[oc] + shift[oc]
        }
        let kernel = ConvKernel(window: s.window, group: 1,
                                weights: ConvKernel.Weights(values: w, shape: s.weightShape, bias: bias))
        let folded = try #require(kernel.foldingBatchNorm(scale: scale, bias: shift, mean: mean, variance: variance, epsilon: epsilon))
        let got = try Self.run(folded, [Tensor(shape: s.inputShape, scalars: x), nil, nil])
        #expect(got.shape == shape)
        assertClose(got.floats ?? [], expected, context: "Conv + BatchNormalization folded")
        // Then fused with an activation, as the optimizer chains the rewrites.
        let activated = try Self.run(folded.fused(activation: .relu), [Tensor(shape: s.inputShape, scalars: x), nil, nil])
        assertClose(activated.floats ?? [], expected.map { max($0, 0) }, context: "folded Conv + Relu")

        // Weights that were node inputs, or an epilogue already fused, cannot be folded.
        #expect(ConvKernel(window: s.window, group: 1).foldingBatchNorm(scale: scale, bias: shift, mean: mean, variance: variance, epsilon: epsilon) == nil)
        #expect(folded.fused(activation: .relu).foldingBatchNorm(scale: scale, bias: shift, mean: mean, variance: variance, epsilon: epsilon) == nil)
        #expect(kernel.foldingBatchNorm(scale: [1], bias: [0], mean: [0], variance: [1], epsilon: epsilon) == nil)
    }

    @Test func refusesAResidualOfTheWrongShape() throws {
        let s = Self.shapes[0]
        var rng = SplitMix64(seed: 5)
        let kernel = ConvKernel(window: s.window, group: s.group).fused(activation: .relu, residual: true)
        let inputs: [Tensor?] = [Tensor(shape: s.inputShape, scalars: Self.random(s.inputShape.reduce(1, *), &rng)),
                                 Tensor(shape: s.weightShape, scalars: Self.random(s.weightShape.reduce(1, *), &rng)), nil,
                                 Tensor(shape: [1, 2], scalars: [1, 2])]
        #expect(throws: InferenceError.self) { try Self.run(kernel, inputs) }
    }
}
