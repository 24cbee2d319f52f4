/// ONNX-ML TreeEnsembleRegressor and TreeEnsembleClassifier with onnxruntime's semantics
/// (aggregation, base values and its binary-classification score conventions).
///
/// The trees are flattened at load into one array of plain nodes and one array of leaf
/// weights, so evaluating a row walks value types through raw pointers: no reference counting,
/// no per-run set-up, and the only per-row state (the scores and which outputs a leaf touched)
/// lives in memory the caller provides.
struct TreeEnsembleKernel: NodeKernel {
    enum Mode: UInt8, Sendable {
        case leq, lt, gte, gt, eq, neq, leaf

        init?(name: String) {
            switch name {
            case "BRANCH_LEQ": self = .leq
            case "BRANCH_LT": self = .lt
            case "BRANCH_GTE": self = .gte
            case "BRANCH_GT": self = .gt
            case "BRANCH_EQ": self = .eq
            case "BRANCH_NEQ": self = .neq
            case "LEAF": self = .leaf
            default: return nil
            }
        }
    }

    enum Aggregate: String, Sendable { case sum = "SUM", average = "AVERAGE", min = "MIN", max = "MAX" }

    /// A branch, or a leaf whose weights are `weightStart..<weightEnd` of the weight arrays.
    struct Node: Sendable {
        var mode: Mode
        var missingTracksTrue: Bool
        var feature: Int32
        var value: Float
        var trueChild: Int32
        var falseChild: Int32
        var weightStart: Int32
        var weightEnd: Int32
    }

    let nodes: [Node]
    /// Output index and value of each leaf weight, grouped by leaf.
    let weightTargets: [Int32]
    let weightValues: [Float]
    let roots: [Int32]
    /// Targets (regressor) or classes (classifier); at least 2 for a classifier.
    let outputs: Int
    let base: [Float]
    let post: MLPostTransform
    let aggregate: Aggregate
    /// Class labels; empty for a regressor.
    let labels: [Int64]
    let binaryCase: Bool
    let weightsAllPositive: Bool
    /// One more than the largest feature a branch reads: the input needs at least this many columns.
    let featureCount: Int

    var isClassifier: Bool { !labels.isEmpty }

    /// The general executor's run: the shared ``evaluate(_:rows:columns:scores:labels:flags:pool:)``
    /// into freshly allocated outputs.
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, n, c) = try node.matrix(inputs[0])
        guard featureCount <= c else { throw node.invalid("the model reads feature \(featureCount - 1) but the input has \(c)") }
        var flags = [Bool](repeating: false, count: n * outputs)
        var predicted = [Int64](repeating: 0, count: isClassifier ? n : 0)
        let scores = [Float](uninitializedCount: n * outputs) { buffer, initialized in
            x.withUnsafeBufferPointer { px in
                flags.withUnsafeMutableBufferPointer { pf in
                    predicted.withUnsafeMutableBufferPointer { pl in
                        evaluate(px.baseAddress!, rows: n, columns: c, scores: buffer.baseAddress!,
                                 labels: pl.baseAddress, flags: pf.baseAddress!, pool: node.context.pool)
                    }
                }
            }
            initialized = n * outputs
        }
        let scoreTensor = Tensor(shape: [n, outputs], storage: .float32(scores))
        return isClassifier ? [Tensor(shape: [n], storage: .int64(predicted)), scoreTensor] : [scoreTensor]
    }

    /// Scores (`rows × outputs`) and, for a classifier, the predicted labels of `rows` rows of
    /// `columns` features (at least ``featureCount``). `flags` is `rows × outputs` bytes of
    /// scratch; `labels` may be nil when nothing reads them. Rows are split over `pool` when the
    /// ensemble is large enough for that to pay; each row's result is the same either way.
    func evaluate(_ x: UnsafePointer<Float>, rows: Int, columns: Int, scores: UnsafeMutablePointer<Float>,
                  labels predicted: UnsafeMutablePointer<Int64>?, flags: UnsafeMutablePointer<Bool>, pool: IntraOpPool?) {
        guard rows > 0 else { return }
        nodes.withUnsafeBufferPointer { nodeBuffer in
            weightTargets.withUnsafeBufferPointer { targetBuffer in
                weightValues.withUnsafeBufferPointer { valueBuffer in
                    roots.withUnsafeBufferPointer { rootBuffer in
                        let nodes = nodeBuffer.baseAddress!, targets = targetBuffer.baseAddress, values = valueBuffer.baseAddress
                        IntraOpPool.forEachChunk(of: rows, on: pool, worthSplitting: rows * roots.count >= 2048) { range in
                            for r in range {
                                let s = scores + r * outputs, has = flags + r * outputs
                                accumulate(x + r * columns, nodes, rootBuffer, targets, values, s, has)
                                if isClassifier {
                                    let label = classify(s, has)
                                    predicted?[r] = label
                                } else {
                                    finishRegression(s)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sums (or takes the min/max of) the weights of the leaf each tree sends `x` to.
    @inline(__always)
    private func accumulate(_ x: UnsafePointer<Float>, _ nodes: UnsafePointer<Node>, _ roots: UnsafeBufferPointer<Int32>,
                            _ targets: UnsafePointer<Int32>?, _ values: UnsafePointer<Float>?,
                            _ s: UnsafeMutablePointer<Float>, _ has: UnsafeMutablePointer<Bool>) {
        s.update(repeating: 0, count: outputs)
        has.update(repeating: false, count: outputs)
        for root in roots {
            let leaf = nodes[Self.leaf(Int(root), x, nodes)]
            guard leaf.weightStart < leaf.weightEnd, let targets, let values else { continue }
            for w in Int(leaf.weightStart)..<Int(leaf.weightEnd) {
                let k = Int(targets[w]), v = values[w]
                switch aggregate {
                case .min: s[k] = has[k] ? Swift.min(s[k], v) : v
                case .max: s[k] = has[k] ? Swift.max(s[k], v) : v
                case .sum, .average: s[k] += v
                }
                has[k] = true
            }
        }
    }

    /// Index of the leaf that the tree at `root` sends `x` to. Load-time checks guarantee every
    /// walk ends at a leaf and reads a feature below ``featureCount``.
    @inline(__always)
    static func leaf(_ root: Int, _ x: UnsafePointer<Float>, _ nodes: UnsafePointer<Node>) -> Int {
        var i = root
        while true {
            let node = nodes[i]
            if node.mode == .leaf { return i }
            let v = x[Int(node.feature)]
            let goTrue: Bool
            if v.isNaN { goTrue = node.missingTracksTrue } else {
                switch node.mode {
                case .leq: goTrue = v <= node.value
                case .lt: goTrue = v < node.value
                case .gte: goTrue = v >= node.value
                case .gt: goTrue = v > node.value
                case .eq: goTrue = v == node.value
                case .neq: goTrue = v != node.value
                case .leaf: goTrue = false
                }
            }
            i = Int(goTrue ? node.trueChild : node.falseChild)
        }
    }

    private func finishRegression(_ s: UnsafeMutablePointer<Float>) {
        for k in 0..<outputs {
            if aggregate == .average { s[k] /= Float(roots.count) }
            s[k] += base.isEmpty ? 0 : base[k]
        }
    }

    /// onnxruntime's TreeAggregatorClassifier::FinalizeScores on one row of `outputs` (≥ 2)
    /// scores, in place; returns the predicted label.
    func classify(_ s: UnsafeMutablePointer<Float>, _ has: UnsafeMutablePointer<Bool>) -> Int64 {
        var count = outputs
        var addSecond = -1
        let label: Int64
        if outputs > 2 {
            if !base.isEmpty { for k in 0..<outputs { s[k] += base[k] } }
            var best = 0
            for k in 1..<outputs where s[k] > s[best] { best = k }
            label = labels[best]
        } else {
            if base.count == 2 {
                if has[1] {
                    s[1] = base[1] + s[0]
                    s[0] = -s[1]
                } else {
                    s[1] += base[1]; s[0] += base[0]
                }
            } else if base.count == 1 {
                s[0] += base[0]
                if !has[1] { count = 1 }
            } else if !has[1] {
                count = 1
            }
            if count == 2 && has[1] {
                label = s[1] > s[0] || !has[0] ? labels[1] : labels[0]
            } else if binaryCase {
                if weightsAllPositive {
                    if s[0] > 0.5 { addSecond = 0; label = labels[1] } else { addSecond = 1; label = labels[0] }
                } else {
                    if s[0] > 0 { addSecond = 2; label = labels[1] } else { addSecond = 3; label = labels[0] }
                }
            } else {
                label = labels[0]
            }
        }
        if post.write(s, count: count, addSecondClass: addSecond) == 1 { s[1] = 0 }
        return label
    }
}
