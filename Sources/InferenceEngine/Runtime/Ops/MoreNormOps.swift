#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension OperatorCompiler {
    /// InstanceNormalization, and GroupNormalization (opset 18: scale/bias per group; opset 21:
    /// per channel).
    func compileGroupNorm() throws(ModelLoadError) -> Compiled {
        try checkArity(3, 3)
        let x = try input(0, [.float32])
        _ = try input(1, [.float32]); _ = try input(2, [.float32])
        let isInstance = node.opType == "InstanceNormalization"
        let attrs = try attributes(isInstance ? ["epsilon"] : ["epsilon", "num_groups", "stash_type"])
        guard x.shape.rank >= 2 else { throw fail("X must have rank ≥ 2") }
        let groups = isInstance ? 0 : try attrs.int("num_groups", default: 0)
        if !isInstance {
            guard groups >= 1, groups <= 1 << 20 else { throw fail("num_groups must be ≥ 1") }
            if let c = x.shape.dims[1].fixedValue, c % Int(groups) != 0 { throw fail("\(c) channels are not divisible into \(groups) groups") }
            guard try attrs.int("stash_type", default: 1) == 1 else { throw fail("only stash_type=1 is supported") }
        }
        let kernel = GroupNormKernel(groups: isInstance ? nil : Int(groups), perChannelAffine: isInstance || opset >= 21,
                                     epsilon: try attrs.float("epsilon", default: 1e-5))
        return (kernel, [x.shape], [.float32])
    }
}

/// InstanceNormalization and GroupNormalization: each (image, group) slab normalized by its own
/// mean and variance, then scaled and shifted per group or per channel.
struct GroupNormKernel: NodeKernel {
    /// nil: one group per channel (InstanceNormalization).
    let groups: Int?
    let perChannelAffine: Bool
    let epsilon: Float

    /// Sizes of one run.
    struct Dimensions: Sendable {
        var n: Int, c: Int, spatial: Int, groups: Int
        var count: Int { n * c * spatial }
    }

    /// The sizes for X's shape and the lengths of scale and bias.
    func dimensions(_ shape: [Int], scaleCount: Int, biasCount: Int, _ node: NodeExecutor) throws(InferenceError) -> Dimensions {
        guard shape.count >= 2 else { throw node.invalid("X \(shape.shapeDescription) must have rank ≥ 2") }
        let c = shape[1]
        let g = groups ?? c
        guard g > 0, c % g == 0 else { throw node.invalid("\(c) channels are not divisible into \(g) groups") }
        let affine = perChannelAffine ? c : g
        guard scaleCount == affine, biasCount == affine else { throw node.invalid("scale and bias must have \(affine) values") }
        return Dimensions(n: shape[0], c: c, spatial: ShapeMath.product(shape, 2..<shape.count), groups: g)
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, shape) = try node.floats(inputs[0])
        let (scale, _) = try node.floats(inputs[1])
        let (bias, _) = try node.floats(inputs[2])
        let d = try dimensions(shape, scaleCount: scale.count, biasCount: bias.count, node)
        let y = node.outputFloats(d.count) { out, initialized in
            defer { initialized = d.count }
            guard let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in scale.withUnsafeBufferPointer { ps in bias.withUnsafeBufferPointer { pb in
                normalize(px.baseAddress, scale: ps.baseAddress, bias: pb.baseAddress, into: py, d)
            } } }
        }
        return [Tensor(shape: shape, storage: .float32(y))]
    }

    /// Normalizes `d.count` floats; the pointers may be nil only for empty tensors.
    func normalize(_ x: UnsafePointer<Float>?, scale: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                   into y: UnsafeMutablePointer<Float>, _ d: Dimensions) {
        guard d.count > 0, let x, let scale, let bias else { return }
        let g = d.groups, c = d.c, spatial = d.spatial
        let perGroup = c / g * spatial
        for b in 0..<d.n {
            for gi in 0..<g {
                let base = (b * c + gi * (c / g)) * spatial
                var sum: Float = 0
                for i in 0..<perGroup { sum += x[base + i] }
                let mean = perGroup > 0 ? sum / Float(perGroup) : 0
                var sq: Float = 0
                for i in 0..<perGroup { let d = x[base + i] - mean; sq += d * d }
                let inv = 1 / sqrtf((perGroup > 0 ? sq / Float(perGroup) : 0) + epsilon)
                for i in 0..<perGroup {
                    let ch = gi * (c / g) + i / Swift.max(spatial, 1)
                    let k = perChannelAffine ? ch : gi
                    y[base + i] = (x[base + i] - mean) * inv * scale[k] + bias[k]
                }
            }
        }
    }
}
