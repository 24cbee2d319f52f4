/// The channel-blocked layout (``ChannelBlocks``) back to NCHW / NCW, where a blocked value
/// has a reader that needs the plain layout (or is a graph output). Padding lanes are dropped.
struct BlockedReorderKernel: NodeKernel {
    /// The logical channel count (the blocks hold it rounded up).
    let channels: Int

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let (outShape, pixels) = try shapes(xs, node)
        let total = outShape.reduce(1, *)
        let y = node.outputFloats(total) { out, initialized in
            defer { initialized = total }
            guard total > 0, let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in reorder(px.baseAddress!, images: xs[0], pixels: pixels, into: py) }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
    }

    /// The plain shape and the pixels per block, for a blocked X of shape `xs`.
    func shapes(_ xs: [Int], _ node: NodeExecutor) throws(InferenceError) -> (outShape: [Int], pixels: Int) {
        let plain = try Self.plainShape(xs, channels: channels, node)
        return (plain, ShapeMath.product(plain, 2..<plain.count))
    }

    /// The NCHW (NCW) shape a blocked X of shape `xs` holds, refusing one whose blocks do not
    /// hold `channels` channels.
    static func plainShape(_ xs: [Int], channels: Int, _ node: NodeExecutor) throws(InferenceError) -> [Int] {
        guard xs.count >= 4, xs[1] == ChannelBlocks.count(channels), xs[xs.count - 1] == ChannelBlocks.width else {
            throw node.invalid("blocked X \(xs.shapeDescription) does not hold \(channels) channels")
        }
        return [xs[0], channels] + Array(xs[2..<(xs.count - 1)])
    }

    func reorder(_ x: UnsafePointer<Float>, images: Int, pixels: Int, into y: UnsafeMutablePointer<Float>) {
        let width = ChannelBlocks.width, blocks = ChannelBlocks.count(channels)
        for image in 0..<images {
            for block in 0..<blocks {
                let source = x + (image * blocks + block) * pixels * width
                let first = block * width
                for lane in 0..<Swift.min(width, channels - first) {
                    let plane = y + (image * channels + first + lane) * pixels
                    for i in 0..<pixels { plane[i] = source[i &* width &+ lane] }
                }
            }
        }
    }
}
