/// The channel-blocked layout of the CNN kernels that level `all` runs (onnxruntime's NCHWc):
/// a `[N, C, H, W]` tensor is stored as `[N, ⌈C/8⌉, H, W, 8]` (`[N, C, W]` as `[N, ⌈C/8⌉, W, 8]`),
/// eight consecutive channels of one pixel side by side.
///
/// In NCHW, a Conv over few channels and small planes spends its time on layout: pools and
/// depthwise convolutions over 4×4 or 8×8 planes cannot fill 16-lane vectors along a row, so
/// they transpose 16 planes into lanes and back on every node. With channels in lanes every
/// pixel is one vector, for every plane size: a depthwise tap is one FMA, a pool tap one max, a
/// general Conv broadcasts one input value against the weights of eight output channels. Eight
/// lanes (one AVX2 register) rather than sixteen because the models this is for have 8 or 16
/// channels, which sixteen-lane blocks would half fill.
///
/// Lanes past C in the last block are padding: kernels write something finite there and never
/// let it reach a real channel.
enum ChannelBlocks {
    typealias Vector = SIMD8<Float>
    static let width = 8

    @inline(__always)
    static func count(_ channels: Int) -> Int { (channels + width - 1) / width }

    /// The blocked shape of an NCHW (or NCW) shape.
    static func blockedShape(_ shape: [Int]) -> [Int] {
        [shape[0], count(shape[1])] + Array(shape[2...]) + [width]
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector { UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self) }
}
