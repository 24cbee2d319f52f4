/// MaxPool and AveragePool on the channel-blocked layout (``ChannelBlocks``): every window tap
/// of a pixel is one 8-channel vector, whatever the plane's width, over the valid taps of
/// ``PoolKernel/interleavedWindows(h:w:g:)``'s table (so padding is never read and averages use
/// the same divisors as the NCHW kernel).
struct BlockedPoolKernel: NodeKernel {
    /// The pool this replaces (window, max or average, divisor rule); never with indices.
    let pool: PoolKernel

    typealias Vector = ChannelBlocks.Vector

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let setup = try Setup(self, x: xs, node)
        let total = setup.total
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in setup.run(px.baseAddress ?? UnsafePointer(py), y: py, threads: node.context.pool) }
        }
        return [Tensor(shape: setup.outShape, storage: .float32(y))]
    }

    /// The geometry and window table of one input shape.
    struct Setup: Sendable {
        let kernel: BlockedPoolKernel
        let blocks: Int, pixels: Int, outputs: Int
        let outShape: [Int]
        let total: Int
        let windows: [Int], divisors: [Float]
        let rowStep: Int, tapStep: Int

        init(_ kernel: BlockedPoolKernel, x xs: [Int], _ node: NodeExecutor) throws(InferenceError) {
            let window = kernel.pool.window
            let rank = window.spatialRank + 3
            guard xs.count == rank, xs[rank - 1] == ChannelBlocks.width else { throw node.invalid("blocked X \(xs.shapeDescription) has the wrong rank") }
            let h = window.spatialRank == 1 ? 1 : xs[2], w = xs[rank - 2]
            let g = window.geometry(h: h, w: w)
            blocks = xs[0] * xs[1]
            pixels = h * w
            outputs = g.oh * g.ow
            outShape = [xs[0], xs[1]] + (window.spatialRank == 1 ? [g.ow] : [g.oh, g.ow]) + [ChannelBlocks.width]
            total = try node.checkedCount(outShape)
            (windows, divisors) = kernel.pool.interleavedWindows(h: h, w: w, g: g)
            rowStep = window.dilation.h * w * ChannelBlocks.width
            tapStep = window.dilation.w * ChannelBlocks.width
            self.kernel = kernel
        }

        func run(_ x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, threads: IntraOpPool?) {
            let isMax = kernel.pool.isMax
            let taps = kernel.pool.window.kernel.h * kernel.pool.window.kernel.w
            let width = ChannelBlocks.width
            windows.withUnsafeBufferPointer { table in divisors.withUnsafeBufferPointer { divisor in
                IntraOpPool.forEachChunk(of: blocks, on: threads, worthSplitting: blocks * outputs * taps * width >= PoolKernel.parallelThreshold) { range in
                    // Output-major, four blocks at a time: every block has the same windows, so
                    // one table entry serves the chunk and four blocks give four independent
                    // max (or add) chains; a window's taps alone are one latency-bound chain
                    // (cnn2d's two pools took 40 µs at batch 64 block by block).
                    for i in 0..<outputs {
                        let e = table.baseAddress! + 5 &* i
                        let first = e[0] &* width + e[1] &* rowStep + e[3] &* tapStep
                        let ny = e[2] - e[1], nx = e[4] - e[3]
                        let taken = isMax ? 1 : divisor[i]
                        var block = range.lowerBound
                        while block < range.upperBound {
                            let count = Swift.min(4, range.upperBound - block)
                            let t = x + block &* pixels &* width + first, o = y + (block &* outputs &+ i) &* width
                            if count == 4 {
                                reduce(FourBlocks.self, isMax: isMax, t, ny: ny, nx: nx, divisor: taken, into: o)
                            } else {
                                for j in 0..<count {
                                    reduce(OneBlock.self, isMax: isMax, t + j &* pixels &* width, ny: ny, nx: nx, divisor: taken,
                                           into: o + j &* outputs &* width)
                                }
                            }
                            block += count
                        }
                    }
                }
            } }
        }

        /// One window (`ny × nx` valid taps from `t`) of `B.count` consecutive blocks (their
        /// planes `pixels` vectors apart, their outputs `outputs` vectors apart).
        @inline(__always)
        func reduce<B: BlockCount>(_: B.Type, isMax: Bool, _ t: UnsafePointer<Float>, ny: Int, nx: Int, divisor: Float,
                                   into o: UnsafeMutablePointer<Float>) {
            let width = ChannelBlocks.width
            let planeStride = pixels &* width, outputStride = outputs &* width
            let initial = Vector(repeating: isMax ? -.infinity : 0)
            var v0 = initial, v1 = initial, v2 = initial, v3 = initial
            @inline(__always) func fold(_ v: inout Vector, _ p: UnsafePointer<Float>) {
                let tap = ChannelBlocks.load(p)
                // NaN wins and then stays, like the NCHW kernels.
                if isMax { v.replace(with: tap, where: (tap .> v) .| (tap .!= tap)) } else { v += tap }
            }
            var line = t
            for _ in 0..<ny {
                var p = line
                for _ in 0..<nx {
                    fold(&v0, p)
                    if B.count > 1 {
                        fold(&v1, p + planeStride)
                        fold(&v2, p + 2 &* planeStride)
                        fold(&v3, p + 3 &* planeStride)
                    }
                    p += tapStep
                }
                line += rowStep
            }
            @inline(__always) func put(_ v: Vector, _ j: Int) {
                let out = isMax ? v : (divisor > 0 ? v / divisor : Vector(repeating: 0))
                ChannelBlocks.store(out, o + j &* outputStride)
            }
            put(v0, 0)
            if B.count > 1 { put(v1, 1); put(v2, 2); put(v3, 3) }
        }
    }

    /// Blocks per ``Setup/reduce(_:isMax:_:ny:nx:divisor:into:)`` call, as a type so that it is
    /// a constant inside.
    protocol BlockCount { static var count: Int { get } }
    enum OneBlock: BlockCount { static var count: Int { 1 } }
    enum FourBlocks: BlockCount { static var count: Int { 4 } }
}