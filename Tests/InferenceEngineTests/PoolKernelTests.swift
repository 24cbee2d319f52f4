import Testing
@testable import InferenceEngine

/// The vectorized pools against their scalar definition, on planes wider than one vector, with
/// strides, dilations, ceil mode and both average divisor rules.
@Suite("Pool kernels")
struct PoolKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var h: Int, w: Int
        var window: Window2D
        var description: String { name }
    }

    static func window(_ k: (Int, Int), _ s: (Int, Int), _ d: (Int, Int) = (1, 1), pads: (Int, Int, Int, Int) = (0, 0, 0, 0),
                       ceil: Bool = false, rank: Int = 2) -> Window2D {
        Window2D(kernel: (k.0, k.1), stride: (s.0, s.1), dilation: (d.0, d.1), pads: (pads.0, pads.1, pads.2, pads.3), autoPad: .notSet,
                 ceilMode: ceil, spatialRank: rank)
    }

    static let cases: [Case] = [
        Case(name: "3x3 s2 ceil", h: 8, w: 8, window: window((3, 3), (2, 2), ceil: true)),
        Case(name: "2x2 s1 pads", h: 4, w: 4, window: window((2, 2), (1, 1), pads: (1, 1, 1, 1))),
        Case(name: "wide 3x3 s1 pads", h: 5, w: 40, window: window((3, 3), (1, 1), pads: (1, 1, 1, 1))),
        Case(name: "wide 2x3 s(1,3) dilated ceil", h: 9, w: 50, window: window((2, 3), (1, 3), (2, 2), pads: (1, 2, 0, 1), ceil: true)),
        Case(name: "1-D k3 s2 pads", h: 1, w: 33, window: window((1, 3), (1, 2), pads: (0, 1, 0, 1), rank: 1)),
        // Narrow rows take the scalar path.
        Case(name: "narrow 3x2 s(2,3) dilated ceil", h: 9, w: 13, window: window((3, 2), (2, 3), (1, 2), pads: (1, 1, 2, 0), ceil: true)),
        Case(name: "narrow 1-D", h: 1, w: 7, window: window((1, 2), (1, 2), pads: (0, 1, 0, 1), rank: 1)),
    ]

    static func reference(_ c: Case, _ x: [Float], planes: Int, isMax: Bool, includePad: Bool) -> [Float] {
        let g = c.window.geometry(h: c.h, w: c.w)
        let (kh, kw) = c.window.kernel, (sh, sw) = c.window.stride, (dh, dw) = c.window.dilation
        var y: [Float] = []
        for p in 0..<planes {
            for oy in 0..<g.oh {
                for ox in 0..<g.ow {
                    var best = -Float.infinity, sum: Float = 0, inside = 0, padded = 0
                    for ky in 0..<kh {
                        for kx in 0..<kw {
                            let iy = oy * sh - g.pt + ky * dh, ix = ox * sw - g.pl + kx * dw
                            if iy < c.h + g.pb && ix < c.w + g.pr { padded += 1 }
                            guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                            let v = x[(p * c.h + iy) * c.w + ix]
                            if v > best || v.isNaN { best = v }
                            sum += v
                            inside += 1
                        }
                    }
                    if isMax { y.append(best) } else {
                        let count = includePad ? max(padded, 1) : inside
                        y.append(count > 0 ? sum / Float(count) : 0)
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: cases)
    func matchesDefinition(_ c: Case) throws {
        var rng = SplitMix64(seed: UInt64(c.w * 31 + c.h))
        // 18 planes: one block of 16 interleaved planes and a partial one.
        let planes = 18
        var x = (0..<(planes * c.h * c.w)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
        x[c.h * c.w + 1] = .nan   // MaxPool propagates NaN; AveragePool too
        let shape = c.window.spatialRank == 1 ? [2, 9, c.w] : [2, 9, c.h, c.w]
        for (isMax, includePad) in [(true, false), (false, false), (false, true)] {
            let kernel = PoolKernel(window: c.window, isMax: isMax, countIncludePad: includePad)
            let node = CompiledNode(name: "pool", opType: isMax ? "MaxPool" : "AveragePool", operation: .kernel(kernel), inputs: [], outputs: [0])
            let got = try kernel.run([Tensor(shape: shape, scalars: x)], NodeExecutor(node: node))[0]
            assertClose(got.floats ?? [], Self.reference(c, x, planes: planes, isMax: isMax, includePad: includePad),
                        context: "\(c) max \(isMax) include pad \(includePad)")
        }
    }

    /// Enough narrow planes to split their 16-plane groups over an intra-op pool: the same
    /// values as serially, and as the definition.
    @Test func splitsPlaneGroupsOverThePool() throws {
        let c = Self.cases[0]
        var rng = SplitMix64(seed: 17)
        let planes = 1000   // 62 full groups and a partial one
        let x = (0..<(planes * c.h * c.w)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
        let pool = IntraOpPool(threadCount: 2)
        for isMax in [true, false] {
            let kernel = PoolKernel(window: c.window, isMax: isMax, countIncludePad: false)
            let node = CompiledNode(name: "pool", opType: isMax ? "MaxPool" : "AveragePool", operation: .kernel(kernel), inputs: [], outputs: [0])
            let input = [Tensor(shape: [100, 10, c.h, c.w], scalars: x)]
            let serial = try kernel.run(input, NodeExecutor(node: node))[0]
            let jobsBefore = pool.jobCount
            let parallel = try kernel.run(input, NodeExecutor(node: node, context: ExecutionContext(pool: pool)))[0]
            #expect(pool.jobCount > jobsBefore)
            #expect(parallel.floats == serial.floats)
            assertClose(parallel.floats ?? [], Self.reference(c, x, planes: planes, isMax: isMax, includePad: false),
                        context: "parallel max \(isMax)")
        }
    }

    /// Short 1-D rows go through the interleaved path (``PoolKernel/interleavedRowLimit``), which
    /// must give the scalar definition's maxima bit for bit, and its averages, for any padding,
    /// stride, dilation, ceil mode and plane count (a partial block of 16, a single image).
    static let oneDimensionalCases: [Case] = [
        Case(name: "1-D k2 s2", h: 1, w: 32, window: window((1, 2), (1, 2), rank: 1)),
        Case(name: "1-D k3 s2 pads", h: 1, w: 16, window: window((1, 3), (1, 2), pads: (0, 1, 0, 1), rank: 1)),
        Case(name: "1-D k3 s1 pads odd", h: 1, w: 29, window: window((1, 3), (1, 1), pads: (0, 2, 0, 1), rank: 1)),
        Case(name: "1-D k3 s3 dilated ceil", h: 1, w: 47, window: window((1, 3), (1, 3), (1, 2), pads: (0, 1, 0, 2), ceil: true, rank: 1)),
        Case(name: "1-D k5 s2 ceil at the limit", h: 1, w: 128, window: window((1, 5), (1, 2), pads: (0, 2, 0, 2), ceil: true, rank: 1)),
        Case(name: "1-D k2 s1 past the limit", h: 1, w: 129, window: window((1, 2), (1, 1), rank: 1)),
    ]

    @Test(arguments: oneDimensionalCases)
    func shortRowsMatchDefinition(_ c: Case) throws {
        var rng = SplitMix64(seed: UInt64(c.w * 7 + 1))
        for (images, channels) in [(1, 8), (3, 7), (64, 8)] {
            let planes = images * channels
            var x = (0..<(planes * c.w)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
            x[c.w + 2] = .nan
            let pool = IntraOpPool(threadCount: 2)
            for (isMax, includePad) in [(true, false), (false, false), (false, true)] {
                let kernel = PoolKernel(window: c.window, isMax: isMax, countIncludePad: includePad)
                let node = CompiledNode(name: "pool", opType: isMax ? "MaxPool" : "AveragePool", operation: .kernel(kernel), inputs: [], outputs: [0])
                let setup = try PoolKernel.Setup(kernel, x: [images, channels, c.w], NodeExecutor(node: node))
                let interleaved = if case .interleaved = setup.path { true } else { false }
                #expect(interleaved == (c.w <= PoolKernel.interleavedRowLimit), "\(c): path \(setup.path)")
                let input = [Tensor(shape: [images, channels, c.w], scalars: x)]
                let serial = try kernel.run(input, NodeExecutor(node: node))[0].floats ?? []
                let parallel = try kernel.run(input, NodeExecutor(node: node, context: ExecutionContext(pool: pool)))[0].floats ?? []
                let expected = Self.reference(c, x, planes: planes, isMax: isMax, includePad: includePad)
                #expect(serial.map(\.bitPattern) == parallel.map(\.bitPattern), "\(c) \(images)x\(channels): threads change the bits")
                if isMax {
                    #expect(serial.map(\.bitPattern) == expected.map(\.bitPattern), "\(c) \(images)x\(channels): max")
                } else {
                    assertClose(serial, expected, context: "\(c) \(images)x\(channels) include pad \(includePad)", rtol: 1e-6, atol: 1e-6)
                }
            }
        }
    }

    @Test func globalPools() throws {
        var rng = SplitMix64(seed: 3)
        let x = (0..<(2 * 3 * 37)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
        for isMax in [true, false] {
            let kernel = GlobalPoolKernel(isMax: isMax)
            let node = CompiledNode(name: "gp", opType: "GlobalPool", operation: .kernel(kernel), inputs: [], outputs: [0])
            let got = try kernel.run([Tensor(shape: [2, 3, 37], scalars: x)], NodeExecutor(node: node))[0]
            let expected = (0..<6).map { p in
                let plane = x[(p * 37)..<((p + 1) * 37)]
                return isMax ? plane.max()! : plane.reduce(0, +) / 37
            }
            #expect(got.shape == [2, 3, 1])
            assertClose(got.floats ?? [], expected, context: "global \(isMax ? "max" : "average")")
        }
    }
}
