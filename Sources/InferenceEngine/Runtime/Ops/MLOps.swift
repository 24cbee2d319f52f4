#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ai.onnx.ml` operators that scikit-learn exports (skl2onnx) use for numeric models:
/// Scaler, Normalizer, LinearRegressor, LinearClassifier, ArrayFeatureExtractor,
/// TreeEnsembleRegressor and TreeEnsembleClassifier, with onnxruntime's semantics (including its
/// binary-classification score conventions). String labels are refused.
extension OperatorCompiler {
    static let supportedMLOperators = ["ArrayFeatureExtractor", "LinearClassifier", "LinearRegressor", "Normalizer", "Scaler",
                                       "TreeEnsembleClassifier", "TreeEnsembleRegressor"]

    func compileML() throws(ModelLoadError) -> Compiled? {
        switch node.opType {
        case "Scaler":
            try checkArity(1, 1)
            let x = try input(0, [.float32, .int64, .int32])
            let attrs = try attributes(["offset", "scale"])
            return (ScalerKernel(offset: attrs.byName["offset"]?.floats ?? [], scale: attrs.byName["scale"]?.floats ?? []), [x.shape], [.float32])
        case "Normalizer":
            try checkArity(1, 1)
            let x = try input(0, [.float32, .int64, .int32])
            let attrs = try attributes(["norm"])
            let norm = try string(attrs, "norm", default: "MAX")
            guard ["MAX", "L1", "L2"].contains(norm) else { throw fail("unsupported norm '\(norm)'") }
            guard x.shape.rank <= 2 else { throw fail("input must be 1-D or 2-D") }
            return (NormalizerKernel(norm: norm), [x.shape], [.float32])
        case "LinearRegressor":
            try checkArity(1, 1)
            let x = try input(0, [.float32, .int64, .int32])
            let attrs = try attributes(["coefficients", "intercepts", "post_transform", "targets"])
            let targets = Int(try attrs.int("targets", default: 1))
            let post = try string(attrs, "post_transform", default: "NONE")
            guard post == "NONE" else { throw fail("post_transform '\(post)' is not supported for LinearRegressor") }
            let coefficients = attrs.byName["coefficients"]?.floats ?? []
            guard targets >= 1, !coefficients.isEmpty, coefficients.count % targets == 0 else { throw fail("coefficients do not fit \(targets) targets") }
            let intercepts = attrs.byName["intercepts"]?.floats ?? []
            guard intercepts.isEmpty || intercepts.count == targets else { throw fail("intercepts do not fit \(targets) targets") }
            let batch = x.shape.rank == 2 ? x.shape.dims[0] : .fixed(1)
            return (LinearKernel(coefficients: coefficients, intercepts: intercepts, rows: targets, classifier: nil),
                    [InferredShape([batch, .fixed(targets)])], [.float32])
        case "LinearClassifier":
            try checkArity(1, 1, outputs: 1...2)
            let x = try input(0, [.float32, .int64, .int32])
            let attrs = try attributes(["coefficients", "intercepts", "post_transform", "multi_class", "classlabels_ints", "classlabels_strings"])
            guard attrs.byName["classlabels_strings"] == nil else { throw fail("string class labels are not supported (export with integer labels)") }
            let labels = attrs.byName["classlabels_ints"]?.ints ?? []
            let coefficients = attrs.byName["coefficients"]?.floats ?? []
            let intercepts = attrs.byName["intercepts"]?.floats ?? []
            let rows = intercepts.isEmpty ? Swift.max(labels.count, 1) : intercepts.count
            guard !labels.isEmpty, !coefficients.isEmpty, coefficients.count % rows == 0 else { throw fail("coefficients do not fit \(rows) classes") }
            let post = try MLPostTransform(string(attrs, "post_transform", default: "NONE"), self)
            let batch = x.shape.rank == 2 ? x.shape.dims[0] : .fixed(1)
            let binary = rows == 1 && labels.count == 2
            let info = LinearKernel.Classifier(labels: labels, post: post)
            return (LinearKernel(coefficients: coefficients, intercepts: intercepts, rows: rows, classifier: info),
                    [InferredShape([batch]), InferredShape([batch, .fixed(binary ? 2 : rows)])], [.int64, .float32])
        case "ArrayFeatureExtractor":
            try checkArity(2, 2)
            let x = try input(0, Self.allTypes)
            _ = try input(1, [.int64])
            _ = try attributes([])
            var dims = x.shape.rank == 1 ? [InferredShape.Dim.fixed(1)] : Array(x.shape.dims.dropLast())
            dims.append(.unknown)
            return (ArrayFeatureExtractorKernel(), [InferredShape(dims)], [x.type])
        case "TreeEnsembleRegressor", "TreeEnsembleClassifier":
            return try compileTreeEnsemble()
        default:
            return nil
        }
    }

    func compileTreeEnsemble() throws(ModelLoadError) -> Compiled {
        let isClassifier = node.opType == "TreeEnsembleClassifier"
        try checkArity(1, 1, outputs: isClassifier ? 1...2 : 1...1)
        let x = try input(0, [.float32, .int64, .int32])
        let prefix = isClassifier ? "class" : "target"
        var allowed: Set<String> = ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                                    "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true", "nodes_hitrates",
                                    "post_transform", "base_values", "\(prefix)_treeids", "\(prefix)_nodeids", "\(prefix)_ids",
                                    "\(prefix)_weights"]
        if isClassifier { allowed.formUnion(["classlabels_int64s", "classlabels_strings"]) } else { allowed.formUnion(["n_targets", "aggregate_function"]) }
        for tensorAttribute in ["nodes_values_as_tensor", "base_values_as_tensor", "\(prefix)_weights_as_tensor", "nodes_hitrates_as_tensor"]
            where node.attributes.contains(where: { $0.name == tensorAttribute }) {
            throw fail("attribute '\(tensorAttribute)' (double precision thresholds) is not supported")
        }
        let attrs = try attributes(allowed)
        func ints(_ name: String) -> [Int64] { attrs.byName[name]?.ints ?? [] }
        func floats(_ name: String) -> [Float] { attrs.byName[name]?.floats ?? [] }
        let treeIDs = ints("nodes_treeids"), nodeIDs = ints("nodes_nodeids"), features = ints("nodes_featureids")
        let values = floats("nodes_values"), trueIDs = ints("nodes_truenodeids"), falseIDs = ints("nodes_falsenodeids")
        let modes = attrs.byName["nodes_modes"]?.strings ?? []
        let missing = ints("nodes_missing_value_tracks_true")
        let n = treeIDs.count
        guard n > 0, nodeIDs.count == n, features.count == n, values.count == n, trueIDs.count == n, falseIDs.count == n,
              modes.count == n, missing.isEmpty || missing.count == n else {
            throw fail("the nodes_* attributes must all have \(n) entries")
        }
        // Node index per (tree, node id).
        var index: [TreeKey: Int] = [:]
        for i in 0..<n { index[TreeKey(tree: treeIDs[i], node: nodeIDs[i])] = i }
        var nodes: [TreeEnsembleKernel.Node] = []
        for i in 0..<n {
            guard let mode = TreeEnsembleKernel.Mode(rawValue: modes[i]) else { throw fail("unsupported node mode '\(modes[i])'") }
            var t = -1, f = -1
            if mode != .leaf {
                guard let ti = index[TreeKey(tree: treeIDs[i], node: trueIDs[i])], let fi = index[TreeKey(tree: treeIDs[i], node: falseIDs[i])] else {
                    throw fail("node \(nodeIDs[i]) of tree \(treeIDs[i]) points to a missing child")
                }
                guard features[i] >= 0, features[i] < 1 << 20 else { throw fail("invalid feature id \(features[i])") }
                t = ti; f = fi
            }
            nodes.append(.init(mode: mode, feature: Int(features[i]), value: values[i], trueChild: t, falseChild: f,
                               missingTracksTrue: !missing.isEmpty && missing[i] != 0, weights: []))
        }
        let wTrees = ints("\(prefix)_treeids"), wNodes = ints("\(prefix)_nodeids"), wIDs = ints("\(prefix)_ids"), wValues = floats("\(prefix)_weights")
        guard wTrees.count == wNodes.count, wIDs.count == wTrees.count, wValues.count == wTrees.count else {
            throw fail("the \(prefix)_* attributes must have the same length")
        }
        var outputs: Int
        var labels: [Int64] = []
        if isClassifier {
            guard attrs.byName["classlabels_strings"] == nil else { throw fail("string class labels are not supported (export with integer labels)") }
            labels = ints("classlabels_int64s")
            guard !labels.isEmpty else { throw fail("classlabels_int64s is missing") }
            outputs = labels.count
        } else {
            outputs = Int(try attrs.int("n_targets", default: 1))
            guard outputs >= 1, outputs <= 1 << 16 else { throw fail("invalid n_targets") }
        }
        for k in 0..<wTrees.count {
            guard let i = index[TreeKey(tree: wTrees[k], node: wNodes[k])], nodes[i].mode == .leaf else {
                throw fail("\(prefix) weight \(k) refers to a node that is not a leaf")
            }
            guard wIDs[k] >= 0, wIDs[k] < Int64(outputs) else { throw fail("\(prefix)_ids has \(wIDs[k]) outside 0..<\(outputs)") }
            nodes[i].weights.append((Int(wIDs[k]), wValues[k]))
        }
        // Roots: nodes no branch points to, in tree order.
        var isChild = [Bool](repeating: false, count: n)
        for node in nodes where node.mode != .leaf { isChild[node.trueChild] = true; isChild[node.falseChild] = true }
        let roots = (0..<n).filter { !isChild[$0] }
        // Every node must be reached exactly once from a root: no cycles, no shared subtrees, so
        // evaluation always terminates.
        var visited = [Bool](repeating: false, count: n)
        var stack = roots
        while let i = stack.popLast() {
            guard !visited[i] else { throw fail("tree \(treeIDs[i]) is not a tree (node \(nodeIDs[i]) is reached twice)") }
            visited[i] = true
            if nodes[i].mode != .leaf { stack.append(nodes[i].trueChild); stack.append(nodes[i].falseChild) }
        }
        guard visited.allSatisfy({ $0 }) else { throw fail("the trees contain a cycle (some nodes are unreachable from any root)") }
        let base = floats("base_values")
        guard base.isEmpty || base.count == outputs || (isClassifier && base.count == 1) else { throw fail("base_values has \(base.count) values for \(outputs) outputs") }
        let post = try MLPostTransform(string(attrs, "post_transform", default: "NONE"), self)
        let aggregate = try string(attrs, "aggregate_function", default: "SUM")
        guard ["SUM", "AVERAGE", "MIN", "MAX"].contains(aggregate) else { throw fail("unsupported aggregate_function '\(aggregate)'") }
        if !isClassifier, post != .none { throw fail("post_transform '\(post)' is not supported for TreeEnsembleRegressor") }
        let usedClasses = Set(wIDs)
        let kernel = TreeEnsembleKernel(nodes: nodes, roots: roots, outputs: outputs, base: base, post: post, aggregate: aggregate,
                                        labels: labels, binaryCase: isClassifier && labels.count == 2 && usedClasses.count == 1,
                                        weightsAllPositive: wValues.allSatisfy { $0 >= 0 })
        let batch = x.shape.rank == 2 ? x.shape.dims[0] : .fixed(1)
        if isClassifier {
            return (kernel, [InferredShape([batch]), InferredShape([batch, .fixed(outputs)])], [.int64, .float32])
        }
        return (kernel, [InferredShape([batch, .fixed(outputs)])], [.float32])
    }
}

struct TreeKey: Hashable { var tree: Int64; var node: Int64 }

enum MLPostTransform: String, Sendable {
    case none = "NONE", softmax = "SOFTMAX", logistic = "LOGISTIC", softmaxZero = "SOFTMAX_ZERO", probit = "PROBIT"

    init(_ name: String, _ compiler: OperatorCompiler) throws(ModelLoadError) {
        guard let v = MLPostTransform(rawValue: name) else { throw compiler.fail("unsupported post_transform '\(name)'") }
        self = v
    }

    static func logistic(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    static func probit(_ x: Float) -> Float {
        // sqrt(2) · erfinv(2x − 1), as onnxruntime's ComputeProbit.
        let v = 2 * x - 1
        let a: Float = 0.147
        let ln = logf((1 - v) * (1 + v))
        let t = 2 / (Float.pi * a) + ln / 2
        let r = sqrtf(sqrtf(t * t - ln / a) - t)
        return 1.4142135 * (v < 0 ? -r : r)
    }

    /// onnxruntime's `write_scores`: the transform plus its binary (one score) conventions.
    func write(_ scores: inout [Float], addSecondClass: Int) {
        if scores.count >= 2 {
            switch self {
            case .probit: for i in scores.indices { scores[i] = Self.probit(scores[i]) }
            case .logistic: for i in scores.indices { scores[i] = Self.logistic(scores[i]) }
            case .softmax:
                let m = scores.max()!
                var s: Float = 0
                for i in scores.indices { scores[i] = expf(scores[i] - m); s += scores[i] }
                for i in scores.indices { scores[i] /= s }
            case .softmaxZero:
                let m = scores.max()!
                var s: Float = 0
                for i in scores.indices where scores[i] != 0 { scores[i] = expf(scores[i] - m); s += scores[i] }
                for i in scores.indices where scores[i] != 0 { scores[i] /= s }
            case .none: break
            }
        } else if scores.count == 1 {
            if self == .probit { scores[0] = Self.probit(scores[0]); return }
            switch addSecondClass {
            case 0, 1:
                scores.append(scores[0]); scores[0] = 1 - scores[0]
            case 2:
                if self == .logistic { scores.append(Self.logistic(scores[0])); scores[0] = Self.logistic(-scores[0]) }
                else { scores.append(scores[0]); scores[0] = -scores[0] }
            case 3:
                if self == .logistic { scores.append(Self.logistic(scores[0])); scores[0] = Self.logistic(-scores[0]) }
                else { scores.append(-scores[0]) }
            default:
                if self == .logistic { scores[0] = Self.logistic(scores[0]) }
            }
        }
    }
}

extension NodeExecutor {
    /// The input as `[rows, columns]` float32 (1-D input is one row), converting integer input.
    func matrix(_ t: Tensor?) throws(InferenceError) -> (values: [Float], rows: Int, cols: Int) {
        guard let t else { throw .internalFailure("node '\(node.name)': missing input") }
        let v = t.storage.floatValues
        switch t.shape.count {
        case 1: return (v, 1, t.shape[0])
        case 2: return (v, t.shape[0], t.shape[1])
        default: throw invalid("input must be 1-D or 2-D, got \(t.shape.shapeDescription)")
        }
    }
}

struct ScalerKernel: NodeKernel {
    let offset: [Float], scale: [Float]
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let v = x.storage.floatValues
        let c = x.shape.last ?? 1
        for p in [offset, scale] where !(p.isEmpty || p.count == 1 || p.count == c) {
            throw node.invalid("offset/scale have \(p.count) values for \(c) features")
        }
        var y = [Float](repeating: 0, count: v.count)
        for i in 0..<v.count {
            let j = c == 0 ? 0 : i % c
            let o = offset.isEmpty ? 0 : offset[offset.count == 1 ? 0 : j]
            let s = scale.isEmpty ? 1 : scale[scale.count == 1 ? 0 : j]
            y[i] = (v[i] - o) * s
        }
        return [Tensor(shape: x.shape, storage: .float32(y))]
    }
}

struct NormalizerKernel: NodeKernel {
    let norm: String
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (v, rows, cols) = try node.matrix(inputs[0])
        var y = v
        for r in 0..<rows {
            let row = v[(r * cols)..<((r + 1) * cols)]
            let d: Float
            switch norm {
            case "MAX": d = row.max() ?? 1
            case "L1": d = row.reduce(0) { $0 + Swift.abs($1) }
            default: d = sqrtf(row.reduce(0) { $0 + $1 * $1 })
            }
            for j in 0..<cols { y[r * cols + j] = d == 0 ? v[r * cols + j] : v[r * cols + j] / d }
        }
        return [Tensor(shape: inputs[0]!.shape, storage: .float32(y))]
    }
}

struct LinearKernel: NodeKernel {
    struct Classifier: Sendable { var labels: [Int64]; var post: MLPostTransform }
    let coefficients: [Float], intercepts: [Float], rows: Int
    let classifier: Classifier?

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, n, c) = try node.matrix(inputs[0])
        guard coefficients.count == rows * c else { throw node.invalid("the model has \(coefficients.count / rows) features, the input \(c)") }
        var scores = [Float](repeating: 0, count: n * rows)
        for i in 0..<n {
            for k in 0..<rows {
                var s = intercepts.isEmpty ? 0 : intercepts[k]
                for j in 0..<c { s += x[i * c + j] * coefficients[k * c + j] }
                scores[i * rows + k] = s
            }
        }
        guard let classifier else { return [Tensor(shape: [n, rows], storage: .float32(scores))] }
        let labels = classifier.labels
        var out: [Float] = [], predicted = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            var s = Array(scores[(i * rows)..<((i + 1) * rows)])
            if rows == 1 {
                // Binary: one score; positive means the second label (onnxruntime LinearClassifier).
                let positive = s[0] > 0
                predicted[i] = labels.count == 2 ? labels[positive ? 1 : 0] : (positive ? 1 : 0)
                if labels.count == 2 {
                    switch classifier.post {
                    case .logistic: let p = MLPostTransform.logistic(s[0]); s = [1 - p, p]
                    case .none: s = [-s[0], s[0]]
                    default: classifier.post.write(&s, addSecondClass: -1)
                    }
                } else { classifier.post.write(&s, addSecondClass: -1) }
            } else {
                var best = 0
                for k in 1..<rows where s[k] > s[best] { best = k }
                predicted[i] = labels.count == rows ? labels[best] : Int64(best)
                classifier.post.write(&s, addSecondClass: -1)
            }
            out.append(contentsOf: s)
        }
        let width = out.count / Swift.max(n, 1)
        return [Tensor(shape: [n], storage: .int64(predicted)), Tensor(shape: [n, width], storage: .float32(out))]
    }
}

struct ArrayFeatureExtractorKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let idx = try node.ints(try node.required(inputs, 1))
        guard let stride = x.shape.last, stride > 0 else { throw node.invalid("empty input") }
        for v in idx where v < 0 || v >= Int64(stride) { throw node.invalid("index \(v) is out of range for \(stride) features") }
        let rows = x.elementCount / stride
        var src: [Int] = []
        src.reserveCapacity(rows * idx.count)
        for r in 0..<rows { for v in idx { src.append(r * stride + Int(v)) } }
        var shape = x.shape.count == 1 ? [1] : Array(x.shape.dropLast())
        shape.append(idx.count)
        return [Tensor(shape: shape, storage: x.storage.gathered(src))]
    }
}

struct TreeEnsembleKernel: NodeKernel {
    enum Mode: String, Sendable {
        case leq = "BRANCH_LEQ", lt = "BRANCH_LT", gte = "BRANCH_GTE", gt = "BRANCH_GT", eq = "BRANCH_EQ", neq = "BRANCH_NEQ", leaf = "LEAF"
    }
    struct Node: Sendable {
        var mode: Mode
        var feature: Int
        var value: Float
        var trueChild: Int
        var falseChild: Int
        var missingTracksTrue: Bool
        var weights: [(Int, Float)]
    }
    let nodes: [Node]
    let roots: [Int]
    let outputs: Int
    let base: [Float]
    let post: MLPostTransform
    let aggregate: String
    let labels: [Int64]
    let binaryCase: Bool
    let weightsAllPositive: Bool

    func leaf(_ root: Int, _ x: UnsafeBufferPointer<Float>) -> Node {
        var i = root
        while true {
            let node = nodes[i]
            if node.mode == .leaf { return node }
            let v = x[node.feature]
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
            i = goTrue ? node.trueChild : node.falseChild
        }
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, n, c) = try node.matrix(inputs[0])
        let maxFeature = nodes.filter { $0.mode != .leaf }.map(\.feature).max() ?? -1
        guard maxFeature < c else { throw node.invalid("the model reads feature \(maxFeature) but the input has \(c)") }
        var scoresOut: [Float] = [], labelsOut: [Int64] = []
        x.withUnsafeBufferPointer { px in
            for r in 0..<n {
                let row = UnsafeBufferPointer(rebasing: px[(r * c)..<((r + 1) * c)])
                var score = [Float](repeating: 0, count: outputs)
                var has = [Bool](repeating: false, count: outputs)
                for root in roots {
                    for (k, w) in leaf(root, row).weights {
                        switch aggregate {
                        case "MIN": score[k] = has[k] ? Swift.min(score[k], w) : w
                        case "MAX": score[k] = has[k] ? Swift.max(score[k], w) : w
                        default: score[k] += w
                        }
                        has[k] = true
                    }
                }
                if labels.isEmpty {
                    // Regressor.
                    for k in 0..<outputs {
                        if aggregate == "AVERAGE" { score[k] /= Float(roots.count) }
                        score[k] += base.isEmpty ? 0 : base[k]
                    }
                    scoresOut.append(contentsOf: score)
                    continue
                }
                let (label, final) = classify(score, has)
                labelsOut.append(label)
                scoresOut.append(contentsOf: final)
            }
        }
        if labels.isEmpty { return [Tensor(shape: [n, outputs], storage: .float32(scoresOut))] }
        return [Tensor(shape: [n], storage: .int64(labelsOut)), Tensor(shape: [n, outputs], storage: .float32(scoresOut))]
    }

    /// onnxruntime's TreeAggregatorClassifier::FinalizeScores.
    func classify(_ s: [Float], _ has: [Bool]) -> (Int64, [Float]) {
        var scores = s, flags = has
        var addSecond = -1
        let label: Int64
        if outputs > 2 {
            if !base.isEmpty { for k in 0..<outputs { scores[k] += base[k] } }
            var best = -1
            for k in 0..<outputs where best < 0 || scores[k] > scores[best] { best = k }
            label = labels[Swift.max(best, 0)]
        } else {
            if base.count == 2 {
                if flags[1] {
                    scores[1] = base[1] + scores[0]
                    scores[0] = -scores[1]
                } else {
                    scores[1] += base[1]; scores[0] += base[0]
                }
            } else if base.count == 1 {
                scores[0] += base[0]
                if !flags[1] { scores.removeLast(); flags.removeLast() }
            } else if !flags[1] {
                scores.removeLast(); flags.removeLast()
            }
            if scores.count == 2 && flags[1] {
                label = scores[1] > scores[0] || !flags[0] ? labels[1] : labels[0]
            } else if binaryCase {
                if weightsAllPositive {
                    if scores[0] > 0.5 { addSecond = 0; label = labels[1] } else { addSecond = 1; label = labels[0] }
                } else {
                    if scores[0] > 0 { addSecond = 2; label = labels[1] } else { addSecond = 3; label = labels[0] }
                }
            } else {
                label = labels[0]
            }
        }
        post.write(&scores, addSecondClass: addSecond)
        if scores.count == 1 { scores.append(0) }
        return (label, scores)
    }
}
