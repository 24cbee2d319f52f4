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
                    for block in range {
                        let t = x + block * pixels * width, o = y + block * outputs * width
                        for i in 0..<outputs {
                            let e = table.baseAddress! + 5 &* i
                            let origin = t + e[0] &* width
                            let kyLo = e[1], kyHi = e[2], kxLo = e[3], kxHi = e[4]
                            var v: Vector
                            if isMax {
                                v = Vector(repeating: -.infinity)
                                var ky = kyLo
                                while ky < kyHi {
                                    let line = origin + ky &* rowStep
                                    var kx = kxLo
                                    while kx < kxHi {
                                        // NaN wins and then stays, like the NCHW kernels.
                                        let tap = ChannelBlocks.load(line + kx &* tapStep)
                                        v.replace(with: tap, where: (tap .> v) .| (tap .!= tap))
                                        kx &+= 1
                                    }
                                    ky &+= 1
                                }
                            } else {
                                v = Vector(repeating: 0)
                                var ky = kyLo
                                while ky < kyHi {
                                    let line = origin + ky &* rowStep
                                    var kx = kxLo
                                    while kx < kxHi { v += ChannelBlocks.load(line + kx &* tapStep); kx &+= 1 }
                                    ky &+= 1
                                }
                                let count = divisor[i]
                                v = count > 0 ? v / count : Vector(repeating: 0)
                            }
                            ChannelBlocks.store(v, o + i &* width)
                        }
                    }
                }
            } }
        }
    }
}
