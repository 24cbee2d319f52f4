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

    /// How the two addends combine for one pair of shapes.
    struct Layout {
        enum Mode {
            /// The addends have one shape.
            case same
            /// The smaller addend is one `[width]` row added to every row.
            case row
            /// Any other broadcast: the sum is formed first with this pattern.
            case general(BroadcastPattern)
        }
        /// Whether input 1 is the larger addend (Add is commutative, so the row may come first).
        let swapped: Bool
        let mode: Mode
        let shape: [Int]
        let count: Int
        let rows: Int
    }

    /// The layout for addends of these shapes, nil if they do not make rows of ``width``.
    func layout(_ aShape: [Int], _ bShape: [Int]) -> Layout? {
        let aCount = ShapeMath.product(aShape, 0..<aShape.count), bCount = ShapeMath.product(bShape, 0..<bShape.count)
        let swapped = aCount < bCount
        let (big, small) = swapped ? (bShape, aShape) : (aShape, bShape)
        let smallCount = min(aCount, bCount)
        let mode: Layout.Mode
        var shape = big
        if small == big {
            mode = .same
        } else if smallCount == width && small.last == width && big.last == width && big.count >= small.count {
            mode = .row
        } else {
            guard let s = Broadcast.shape(big, small) else { return nil }
            shape = s
            mode = .general(BroadcastPattern(big, small, outShape: s))
        }
        guard shape.last == width else { return nil }
        let count = ShapeMath.product(shape, 0..<shape.count)
        return Layout(swapped: swapped, mode: mode, shape: shape, count: count, rows: width == 0 ? 0 : count / width)
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let a = try node.floats(inputs[0]), b = try node.floats(inputs[1])
        let gamma = try node.floats(inputs[2]).values
        let beta = inputs.count > 3 && inputs[3] != nil ? try node.floats(inputs[3]).values : nil
        guard let layout = layout(a.shape, b.shape), gamma.count == width, beta.map({ $0.count == width }) ?? true else {
            throw node.invalid("expected rows of \(width) features, got \(a.shape.shapeDescription) and \(b.shape.shapeDescription)")
        }
        let (big, small) = layout.swapped ? (b.values, a.values) : (a.values, b.values)
        var summed: [Float] = []
        if case .general(let pattern) = layout.mode {
            summed = [Float](repeating: 0, count: layout.count)
            big.withUnsafeBufferPointer { pb in small.withUnsafeBufferPointer { ps in summed.withUnsafeMutableBufferPointer { out in
                guard layout.count > 0 else { return }
                pattern.apply(.add, pb.baseAddress!, ps.baseAddress!, out.baseAddress!)
            } } }
        }
        let count = layout.count
        var sum: [Float] = emitsSum ? [Float](repeating: 0, count: count) : []
        let y = node.outputFloats(count) { out, initialized in
            initialized = count
            guard count > 0 else { return }
            big.withUnsafeBufferPointer { pa in small.withUnsafeBufferPointer { pb in summed.withUnsafeBufferPointer { pre in
            gamma.withUnsafeBufferPointer { pg in (beta ?? []).withUnsafeBufferPointer { pbeta in
            sum.withUnsafeMutableBufferPointer { ps in withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { row in
                let betaPointer = beta == nil ? nil : pbeta.baseAddress
                let sumPointer = emitsSum ? ps.baseAddress : nil
                switch layout.mode {
                case .same, .row:
                    compute(pa.baseAddress!, pb.baseAddress!, smallRowStride: layout.isRow ? 0 : width, rows: layout.rows,
                            gamma: pg.baseAddress!, beta: betaPointer, y: out.baseAddress!, sum: sumPointer, rowScratch: row.baseAddress!)
                case .general:
                    compute(pre.baseAddress!, nil, smallRowStride: 0, rows: layout.rows,
                            gamma: pg.baseAddress!, beta: betaPointer, y: out.baseAddress!, sum: sumPointer, rowScratch: row.baseAddress!)
                }
            } }
            } }
            } } }
        }
        let result = Tensor(shape: layout.shape, storage: .float32(y))
        return emitsSum ? [result, Tensor(shape: layout.shape, storage: .float32(sum))] : [result]
    }

    /// `rows` rows of `y = LayerNorm(a + b)`, where `b` advances `smallRowStride` per row (the
    /// width, or 0 for one row added to all); `b` nil means `a` is the sum already. The sum goes
    /// to `sum` when given (it is then normalised from there), else through `rowScratch`
    /// (``width`` floats).
    func compute(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, smallRowStride: Int, rows: Int,
                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>?,
                 y: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>?, rowScratch: UnsafeMutablePointer<Float>) {
        guard rows > 0, width > 0 else { return }
        do {
            for r in 0..<rows {
                let ra = a + r * width
                var s = UnsafePointer(ra)
                if let b {
                    let row = sum.map { $0 + r * width } ?? rowScratch
                    let rb = b + r * smallRowStride
                    for i in 0..<width { row[i] = ra[i] + rb[i] }
                    s = UnsafePointer(row)
                } else if let sum {
                    (sum + r * width).update(from: ra, count: width)
                }
                LayerNormRow.normalize(s, y + r * width, width: width, epsilon: epsilon, gamma: gamma, beta: beta)
            }
        }
    }
}

extension AddLayerNormKernel.Layout {
    var isRow: Bool { if case .row = mode { true } else { false } }
}
