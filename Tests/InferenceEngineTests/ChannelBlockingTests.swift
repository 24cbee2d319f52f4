import Testing
@testable import InferenceEngine

/// The channel-blocked kernels (``ChannelBlocks``) against the NCHW definitions, and the
/// optimizer pass that puts them in the zoo's CNNs.
@Suite("Channel-blocked layout")
struct ChannelBlockingTests {
    static func node(_ kernel: any NodeKernel, _ opType: String) -> NodeExecutor {
        NodeExecutor(node: CompiledNode(name: opType, opType: opType, operation: .kernel(kernel), inputs: [], outputs: [0]))
    }

    /// NCHW (or NCW) values in the blocked layout, padding lanes set to `padding` (the kernels
    /// must never let them reach a real channel).
    static func blocked(_ x: [Float], _ shape: [Int], padding: Float = 7) -> Tensor {
        let n = shape[0], c = shape[1], pixels = shape[2...].reduce(1, *), width = ChannelBlocks.width
        let blocks = ChannelBlocks.count(c)
        var out = [Float](repeating: padding, count: n * blocks * pixels * width)
        for b in 0..<n {
            for ch in 0..<c {
                for i in 0..<pixels { out[((b * blocks + ch / width) * pixels + i) * width + ch % width] = x[(b * c + ch) * pixels + i] }
            }
        }
        return Tensor(shape: ChannelBlocks.blockedShape(shape), scalars: out)
    }

    /// A blocked result back in NCHW through the reorder kernel.
    static func plain(_ t: Tensor, channels: Int) throws -> Tensor {
        let kernel = BlockedReorderKernel(channels: channels)
        return try kernel.run([t], node(kernel, "ReorderFromBlocked"))[0]
    }

    /// Every Conv shape of the NCHW kernel's tests (depthwise, grouped, strided, dilated,
    /// padded, 1-D, deep) with and without a blocked X, bias, residual before and after the
    /// activation: the blocked Conv, reordered back, matches the definition.
    @Test(arguments: ConvKernelTests.shapes)
    func convMatchesDefinition(_ s: ConvCase) throws {
        var rng = SplitMix64(seed: UInt64(s.n * 977 + s.c * 31 + s.w))
        let x = ConvKernelTests.random(s.inputShape.reduce(1, *), &rng)
        let w = ConvKernelTests.random(s.weightShape.reduce(1, *), &rng)
        let bias = ConvKernelTests.random(s.m, &rng)
        let depthwise = s.group == s.c && s.m == s.c
        for e in [EpilogueCase(activation: .relu, residual: false, before: false),
                  EpilogueCase(activation: .leakyRelu(alpha: 0.1), residual: true, before: true),
                  EpilogueCase(activation: .sigmoid, residual: true, before: false),
                  EpilogueCase(activation: .clip(min: -0.5, max: 0.5), residual: false, before: false)] {
            let (_, outShape) = ConvKernelTests.reference(s, x: x, w: w, bias: nil, residual: nil, e)
            let residual = e.residual ? ConvKernelTests.random(outShape.reduce(1, *), &rng) : nil
            let (expected, shape) = ConvKernelTests.reference(s, x: x, w: w, bias: bias, residual: residual, e)
            var conv = ConvKernel(window: s.window, group: s.group).fused(activation: e.activation, residual: e.residual,
                                                                          residualBeforeActivation: e.before)
            conv.weights = ConvKernel.Weights(values: w, shape: s.weightShape, bias: bias)
            for inputBlocked in depthwise ? [true] : [false, true] {
                let kernel = BlockedConvKernel(conv: conv, inputBlocked: inputBlocked, channels: s.c)
                #expect(kernel.isDepthwise == depthwise)
                let input = inputBlocked ? Self.blocked(x, s.inputShape) : Tensor(shape: s.inputShape, scalars: x)
                let r = residual.map { Self.blocked($0, shape, padding: .nan) }
                let got = try kernel.run([input, nil, nil, r], Self.node(kernel, "BlockedConv"))[0]
                #expect(got.shape == ChannelBlocks.blockedShape(shape), "\(s)")
                assertClose(try Self.plain(got, channels: s.m).floats ?? [], expected,
                            context: "\(s), \(e), blocked X \(inputBlocked)")
            }
        }
    }

    /// The pools of the NCHW kernel's tests, max (with a NaN) and both average divisor rules,
    /// over 11 channels (a full block and a partial one).
    @Test(arguments: PoolKernelTests.cases)
    func poolMatchesDefinition(_ c: PoolKernelTests.Case) throws {
        var rng = SplitMix64(seed: UInt64(c.w * 17 + c.h))
        let shape = c.window.spatialRank == 1 ? [2, 11, c.w] : [2, 11, c.h, c.w]
        var x = (0..<shape.reduce(1, *)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
        x[c.h * c.w + 1] = .nan
        for (isMax, includePad) in [(true, false), (false, false), (false, true)] {
            let kernel = BlockedPoolKernel(pool: PoolKernel(window: c.window, isMax: isMax, countIncludePad: includePad))
            let got = try kernel.run([Self.blocked(x, shape, padding: .infinity)], Self.node(kernel, "BlockedMaxPool"))[0]
            let expected = PoolKernelTests.reference(c, x, planes: 22, isMax: isMax, includePad: includePad)
            assertClose(try Self.plain(got, channels: 11).floats ?? [], expected, context: "\(c) max \(isMax) include pad \(includePad)")
        }
    }

    /// Global average and max over 1-D and 2-D planes (odd pixel counts), written as
    /// `[N, C, 1...]` or `[N, C]`; a NaN wins the max, as in MaxPool, in the plain kernel too
    /// (levels `none` and `all` must agree).
    @Test func globalPoolsMatchDefinition() throws {
        var rng = SplitMix64(seed: 5)
        for shape in [[3, 13, 5, 7], [2, 8, 9], [1, 3, 1, 1], [2, 3, 40]] {
            let pixels = shape[2...].reduce(1, *), planes = shape[0] * shape[1]
            var x = (0..<shape.reduce(1, *)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
            x[2] = .nan
            x[x.count - 3] = .nan   // past the plain kernel's whole vectors for [2, 3, 40]
            for isMax in [false, true] {
                let expected = (0..<planes).map { p -> Float in
                    let plane = x[(p * pixels)..<((p + 1) * pixels)]
                    if isMax { return plane.contains { $0.isNaN } ? .nan : plane.max()! }
                    return plane.reduce(0, +) / Float(pixels)
                }
                let plainKernel = GlobalPoolKernel(isMax: isMax)
                let plain = try plainKernel.run([Tensor(shape: shape, scalars: x)], Self.node(plainKernel, "GlobalPool"))[0]
                assertClose(plain.floats ?? [], expected, context: "plain \(shape) max \(isMax)")
                for trailingOnes in [shape.count - 2, 0] {
                    let kernel = BlockedGlobalPoolKernel(isMax: isMax, channels: shape[1], trailingOnes: trailingOnes)
                    let got = try kernel.run([Self.blocked(x, shape)], Self.node(kernel, "BlockedGlobalPool"))[0]
                    #expect(got.shape == [shape[0], shape[1]] + [Int](repeating: 1, count: trailingOnes))
                    assertClose(got.floats ?? [], expected, context: "\(shape) max \(isMax)")
                }
            }
        }
    }

    /// With an intra-op pool, blocked Convs (general from NCHW and from blocked X, depthwise)
    /// and pools split their images or blocks over the threads; every output is exactly the
    /// serial one. (Also the case `make test-tsan` checks for races in the padded copies.)
    @Test func splitsOverThePool() throws {
        var rng = SplitMix64(seed: 11)
        let pool = IntraOpPool(threadCount: 2)
        let parallel = NodeExecutor(node: CompiledNode(name: "p", opType: "p", operation: .identity, inputs: [], outputs: [0]),
                                    context: ExecutionContext(pool: pool))
        let shape = [16, 8, 16, 16]
        let x = ConvKernelTests.random(shape.reduce(1, *), &rng)
        for (group, m, inputBlocked) in [(1, 16, false), (1, 8, true), (8, 8, true)] {
            let s = ConvCase(name: "split", n: 16, c: 8, h: 16, w: 16, m: m, kernel: (3, 3), pads: (1, 1, 1, 1), group: group)
            var conv = ConvKernel(window: s.window, group: group).fused(activation: .relu)
            conv.weights = ConvKernel.Weights(values: ConvKernelTests.random(s.weightShape.reduce(1, *), &rng), shape: s.weightShape,
                                              bias: ConvKernelTests.random(m, &rng))
            let kernel = BlockedConvKernel(conv: conv, inputBlocked: inputBlocked, channels: 8)
            let input = inputBlocked ? Self.blocked(x, shape) : Tensor(shape: shape, scalars: x)
            let serial = try kernel.run([input], Self.node(kernel, "BlockedConv"))[0]
            let jobsBefore = pool.jobCount
            let split = try kernel.run([input], parallel)[0]
            #expect(pool.jobCount > jobsBefore, "group \(group) should have gone parallel")
            let same = split.floats == serial.floats
            #expect(same, "group \(group), blocked X \(inputBlocked): parallel and serial results differ")
        }
        let pooling = BlockedPoolKernel(pool: PoolKernel(window: PoolKernelTests.window((3, 3), (1, 1), pads: (1, 1, 1, 1)), isMax: true,
                                                         countIncludePad: false))
        let blockedX = Self.blocked(x, shape)
        let serial = try pooling.run([blockedX], Self.node(pooling, "BlockedMaxPool"))[0]
        let jobsBefore = pool.jobCount
        let split = try pooling.run([blockedX], parallel)[0]
        #expect(pool.jobCount > jobsBefore, "the pool should have gone parallel")
        let same = split.floats == serial.floats
        #expect(same, "pool: parallel and serial results differ")
    }

    /// A blocked X whose block count does not match the channel count is refused, not read.
    @Test func refusesAMismatchedBlockedInput() throws {
        let kernel = BlockedGlobalPoolKernel(isMax: false, channels: 9, trailingOnes: 2)
        let x = Self.blocked([Float](repeating: 1, count: 8 * 4), [1, 8, 2, 2])
        #expect(throws: InferenceError.self) { try kernel.run([x], Self.node(kernel, "BlockedGlobalPool")) }
    }

    /// The zoo's CNNs run every Conv, pool and the global reduction blocked at level `all`, with
    /// no reorder left (the region starts at the first Conv and ends at the global pool); the
    /// Conv autoencoder, whose ConvTranspose has no blocked form, keeps plain outputs where it needs them.
    @Test func zooCNNsRunBlocked() throws {
        for (file, blocked) in [("cnn2d_legacy.onnx", 6), ("cnn1d_legacy.onnx", 6), ("cnn2d_dynamo/model.onnx", 6)] {
            let model = try OptimizerTests.load("Tests/Fixtures/zoo/" + file, .all)
            let ops = model.executionPlan.filter { !$0.shapeOnly }.map(\.opType)
            #expect(ops.filter { $0.hasPrefix("Blocked") }.count == blocked, "\(file): \(ops)")
            #expect(!ops.contains("ReorderFromBlocked") && !ops.contains("Conv") && !ops.contains("MaxPool"), "\(file): \(ops)")
            let basic = try OptimizerTests.load("Tests/Fixtures/zoo/" + file, .basic)
            #expect(!basic.executionPlan.contains { $0.opType.hasPrefix("Blocked") }, "level basic keeps NCHW")
        }
    }
}
