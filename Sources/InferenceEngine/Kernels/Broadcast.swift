/// numpy-style broadcasting for binary elementwise operators.
enum Broadcast {
    /// The broadcast result shape, or `nil` if the shapes are incompatible.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Applies `op` over two broadcast operands (see ``BroadcastPattern``).
    static func binary(_ op: BinaryOperator, _ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int], outShape: [Int],
                       arena: TensorArena? = nil) -> [Float] {
        let pattern = BroadcastPattern(aShape, bShape, outShape: outShape)
        return TensorArena.floats(pattern.count, from: arena) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard pattern.count > 0, let baseA = pa.baseAddress, let baseB = pb.baseAddress, let y = out.baseAddress else { return }
                    pattern.apply(op, baseA, baseB, y)
                }
            }
            initialized = pattern.count
        }
    }
}
