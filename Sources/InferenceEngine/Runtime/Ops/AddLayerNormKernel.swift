#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `LayerNormalization(a + b)` over the trailing `width` elements, in one pass per row: the
/// residual sum never goes to memory unless another node reads it (``emitsSum``).
///
/// Inputs: a, b, gamma `[width]`, optional beta `[width]`. Outputs: y, and the sum when
/// ``emitsSum``. Equal shapes and a `[width]` row added to every row are summed inside the
/// row loop; any other broadcast is summed first (same result, one more pass).
struct AddLayerNormKernel: NodeKernel {
    let width: Int
    let epsilon: Float
    let emitsSum: Bool

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var (a, aShape) = try node.floats(inputs[0])
        var (b, bShape) = try node.floats(inputs[1])
        let gamma = try node.floats(inputs[2]).values
        let beta = inputs.count > 3 && inputs[3] != nil ? try node.floats(inputs[3]).values : nil
        // The row operand may come first (Add is commutative).
        if a.count < b.count { swap(&a, &b); swap(&aShape, &bShape) }
        var rowBroadcast = false
        if bShape == aShape {
            rowBroadcast = false
        } else if b.count == width && bShape.last == width && aShape.last == width && aShape.count >= bShape.count {
            rowBroadcast = true
        } else {
            // General broadcast: add first, then normalise the sum against a zero row.
            let shape = try node.broadcast([aShape, bShape])
            a = Broadcast.binary(.add, a, aShape, b, bShape, outShape: shape)
            aShape = shape
            b = [Float](repeating: 0, count: width)
            rowBroadcast = true
        }
        guard aShape.last == width, gamma.count == width, beta.map({ $0.count == width }) ?? true else {
            throw node.invalid("expected rows of \(width) features, got \(aShape.shapeDescription)")
        }
        let count = a.count, rows = width == 0 ? 0 : count / width
        var sum: [Float] = emitsSum ? [Float](repeating: 0, count: count) : []
        let y = node.outputFloats(count) { out, initialized in
            initialized = count
            guard count > 0 else { return }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { scratch in
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                gamma.withUnsafeBufferPointer { pg in
                    let s = scratch.baseAddress!
                    for r in 0..<rows {
                        let ra = pa.baseAddress! + r * width
                        let rb = pb.baseAddress! + (rowBroadcast ? 0 : r * width)
                        for i in 0..<width { s[i] = ra[i] + rb[i] }
                        if let beta {
                            _ = beta.withUnsafeBufferPointer { pbeta in
                                LayerNormRow.normalize(s, out.baseAddress! + r * width, width: width, epsilon: epsilon,
                                                       gamma: pg.baseAddress!, beta: pbeta.baseAddress!)
                            }
                        } else {
                            LayerNormRow.normalize(s, out.baseAddress! + r * width, width: width, epsilon: epsilon,
                                                   gamma: pg.baseAddress!, beta: nil)
                        }
                        if emitsSum {
                            sum.withUnsafeMutableBufferPointer { ps in
                                (ps.baseAddress! + r * width).update(from: s, count: width)
                            }
                        }
                    }
                }
                } }
            }
        }
        let result = Tensor(shape: aShape, storage: .float32(y))
        return emitsSum ? [result, Tensor(shape: aShape, storage: .float32(sum))] : [result]
    }
}
