/// GlobalAveragePool, GlobalMaxPool, or ReduceMean / ReduceMax over the spatial axes, reading
/// the channel-blocked layout (``ChannelBlocks``) and writing the plain `[N, C, 1...]` result:
/// each block reduces its pixels eight channels at a time, and its lanes are the result's
/// consecutive channels, so this node also ends the blocked region.
struct BlockedGlobalPoolKernel: NodeKernel {
    let isMax: Bool
    /// The logical channel count (the blocks hold it rounded up).
    let channels: Int
    /// The result's dimensions after `[N, C]`: ones, as many as the replaced node keeps.
    let trailingOnes: Int

    typealias Vector = ChannelBlocks.Vector

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let (outShape, pixels) = try shapes(xs, node)
        let total = outShape.reduce(1, *)
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in pool(px.baseAddress ?? UnsafePointer(py), images: xs[0], pixels: pixels, into: py) }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
    }

    /// The result's shape and the pixels per block, for a blocked X of shape `xs`.
    func shapes(_ xs: [Int], _ node: NodeExecutor) throws(InferenceError) -> (outShape: [Int], pixels: Int) {
        let plain = try BlockedReorderKernel.plainShape(xs, channels: channels, node)
        return ([xs[0], channels] + [Int](repeating: 1, count: trailingOnes), ShapeMath.product(plain, 2..<plain.count))
    }

    func pool(_ x: UnsafePointer<Float>, images: Int, pixels: Int, into y: UnsafeMutablePointer<Float>) {
        let width = ChannelBlocks.width, blocks = ChannelBlocks.count(channels)
        for image in 0..<images {
            for block in 0..<blocks {
                let t = x + (image * blocks + block) * pixels * width
                var v = Vector(repeating: isMax ? -.infinity : 0)
                if isMax {
                    for i in 0..<pixels {
                        let p = ChannelBlocks.load(t + i &* width)
                        v.replace(with: p, where: (p .> v) .| (p .!= p))
                    }
                } else {
                    // Two chains: the sum of a long plane is bound by the add latency otherwise.
                    var odd = Vector()
                    var i = 0
                    while i + 1 < pixels {
                        v += ChannelBlocks.load(t + i &* width)
                        odd += ChannelBlocks.load(t + (i &+ 1) &* width)
                        i &+= 2
                    }
                    if i < pixels { v += ChannelBlocks.load(t + i &* width) }
                    v = pixels > 0 ? (v + odd) / Float(pixels) : Vector()
                }
                let first = block * width
                let target = y + image * channels + first
                for lane in 0..<Swift.min(width, channels - first) { target[lane] = v[lane] }
            }
        }
    }
}
