import Testing
@testable import InferenceEngine

/// The view algebra the fused attention reads its operands through (``TensorView``,
/// ``ViewChain``), checked against the engine's own Transpose, Reshape, Gather and Expand
/// kernels on random chains.
@Suite("View chains")
struct ViewChainTests {
    static let node = NodeExecutor(node: CompiledNode(name: "views", opType: "Attention", operation: .identity, inputs: [], outputs: [0]))

    /// A random chain over a random start shape, with the reference result (each step run by
    /// its kernel) and the operands its steps read.
    struct Case {
        var start: Tensor
        var chain = ViewChain()
        var operands: [Tensor] = []
        var reference: Tensor
        /// Whether every step can be undone (no Gather, no Expand).
        var invertible = true
    }

    static func randomCase(_ rng: inout SplitMix64, invertibleOnly: Bool) throws -> Case {
        let rank = Int(rng.next() % 4) + 1
        let shape = (0..<rank).map { _ in Int(rng.next() % 4) + 1 }
        let count = shape.reduce(1, *)
        let start = Tensor(shape: shape, scalars: (0..<count).map { Float($0) })
        var c = Case(start: start, reference: start)
        for _ in 0..<(Int(rng.next() % 6) + 1) {
            let current = c.reference.shape
            switch rng.next() % (invertibleOnly ? 2 : 4) {
            case 0:
                let perm = Array(0..<current.count).shuffled(using: &rng)
                c.chain.steps.append(.transpose(perm))
                c.reference = try TransposeKernel(perm: perm).run([c.reference], node)[0]
            case 1:
                let target = randomFactoring(current.reduce(1, *), &rng)
                let operand = Tensor(shape: [target.count], storage: .int64(target.map(Int64.init)))
                c.operands.append(operand)
                let kernel = ReshapeKernel(mode: .dynamic(allowZero: false))
                c.chain.steps.append(.reshape(kernel, operand: c.operands.count - 1))
                c.reference = try kernel.run([c.reference, operand], node)[0]
            case 2:
                guard let axis = current.indices.filter({ current[$0] > 0 }).randomElement(using: &rng) else { continue }
                let index = Int64(rng.next() % UInt64(current[axis])) - (rng.next() % 2 == 0 ? Int64(current[axis]) : 0)
                c.chain.steps.append(.select(axis: axis, index: index))
                c.reference = try GatherKernel(axis: axis).run([c.reference, Tensor(shape: [], storage: .int64([index]))], node)[0]
                c.invertible = false
            default:
                // Grow size-1 dimensions and sometimes add a leading one.
                var target = current.map { $0 == 1 ? Int(rng.next() % 3) + 1 : $0 }
                if rng.next() % 2 == 0 { target.insert(Int(rng.next() % 2) + 1, at: 0) }
                let operand = Tensor(shape: [target.count], storage: .int64(target.map(Int64.init)))
                c.operands.append(operand)
                c.chain.steps.append(.expand(operand: c.operands.count - 1))
                c.reference = try ExpandKernel().run([c.reference, operand], node)[0]
                c.invertible = false
            }
        }
        return c
    }

    /// `count` split into 1 to 4 factors at random.
    static func randomFactoring(_ count: Int, _ rng: inout SplitMix64) -> [Int] {
        var factors: [Int] = []
        var rest = count
        var p = 2
        while rest > 1 {
            while rest % p == 0 { factors.append(p); rest /= p }
            p += 1
        }
        var dims = [Int](repeating: 1, count: Int(rng.next() % 4) + 1)
        for f in factors { dims[Int(rng.next() % UInt64(dims.count))] *= f }
        return dims
    }

    /// The chain's result as the kernel reads it: its copies made, then the final view read
    /// densely.
    static func read(_ r: ViewChain.Resolution, from start: Tensor, scratchFloats: Int) -> [Float] {
        let values = start.scalars
        var scratch = [Float](repeating: .nan, count: max(1, scratchFloats))
        var out = [Float](repeating: .nan, count: r.view.dense.count)
        values.withUnsafeBufferPointer { operand in
            scratch.withUnsafeMutableBufferPointer { s in
                r.copy(operand: operand.baseAddress!, scratch: s.baseAddress!)
                let base = r.base(operand: operand.baseAddress!, scratch: s.baseAddress!)
                out.withUnsafeMutableBufferPointer { o in
                    r.view.dense.copy(base, o.baseAddress!, width: 4, pool: nil)
                }
            }
        }
        return out
    }

    @Test("a resolved chain reads what its nodes compute, copying only where a view cannot follow")
    func resolvedChainsMatchTheKernels() throws {
        var rng = SplitMix64(seed: 7)
        var copied = 0, viewed = 0
        for _ in 0..<2000 {
            let c = try Self.randomCase(&rng, invertibleOnly: false)
            var scratch = 0
            let r = try c.chain.resolve(c.start.shape, operand: { c.operands[$0] }, scratch: &scratch, Self.node)
            #expect(r.view.shape == c.reference.shape)
            #expect(Self.read(r, from: c.start, scratchFloats: scratch) == c.reference.scalars, "\(c.start.shape) through \(c.chain.steps)")
            if r.copies.isEmpty { viewed += 1 } else { copied += 1 }
        }
        // Both paths were taken.
        #expect(copied > 50 && viewed > 500, "copied \(copied), viewed \(viewed)")
    }

    @Test("writing through an inverted chain puts every element where the chain sends it")
    func invertedChainsPlaceEveryElement() throws {
        var rng = SplitMix64(seed: 11)
        var inverted = 0, refused = 0
        for _ in 0..<2000 {
            let c = try Self.randomCase(&rng, invertibleOnly: true)
            let (view, resultShape) = try c.chain.inverse(c.start.shape, operand: { c.operands[$0] }, Self.node)
            #expect(resultShape == c.reference.shape)
            guard let view else { refused += 1; continue }
            inverted += 1
            // Element i of the start (row-major) goes to flat offset `targets[i]` of the result.
            let (atoms, strides) = (view.dense.dims, view.dense.steps)
            var targets: [Int] = []
            var index = [Int](repeating: 0, count: atoms.count)
            for _ in 0..<c.start.elementCount {
                targets.append(view.dense.base + zip(index, strides).map(*).reduce(0, +))
                var d = atoms.count - 1
                while d >= 0 { index[d] += 1; if index[d] < atoms[d] { break }; index[d] = 0; d -= 1 }
            }
            var result = [Float](repeating: .nan, count: c.reference.elementCount)
            for (i, value) in c.start.scalars.enumerated() { result[targets[i]] = value }
            #expect(result == c.reference.scalars, "\(c.start.shape) through \(c.chain.steps)")
        }
        #expect(inverted > 500 && refused > 20, "inverted \(inverted), refused \(refused)")
    }

    @Test("a reshape across transposed strides splits atoms only where sizes divide")
    func reshapeAcrossStrides() {
        // [2, 3] transposed is [3, 2] with strides (1, 3).
        let t = TensorView.contiguous([2, 3]).transposed([1, 0])
        #expect(t.reshaped([6])?.stride(0) == nil)          // two atoms, no single stride
        #expect(t.reshaped([3, 2]) == t)
        #expect(t.reshaped([2, 3]) == nil)                   // 3 does not split into 2 · 1.5
        let heads = TensorView.contiguous([5, 4, 48]).reshaped([5, 4, 3, 16])!.transposed([2, 0, 1, 3]).selecting(axis: 0, index: 1)
        // Q of head h = 0 of a packed projection: [seq 5, batch 4, 16] at offset 16.
        #expect(heads.shape == [5, 4, 16] && heads.stride(0) == 192 && heads.stride(1) == 48 && heads.stride(2) == 1)
        #expect(heads.reshaped([5, 8, 8])?.stride(1) == nil)   // batch·heads spans strides 48 and 8
        #expect(heads.reshaped([5, 8, 8])?.transposed([1, 0, 2]).reshaped([4, 2, 5, 8]).map { v in (0..<4).map { v.stride($0)! } } == [48, 8, 192, 1])
    }
}
