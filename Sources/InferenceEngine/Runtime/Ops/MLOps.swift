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
            let name = try string(attrs, "norm", default: "MAX")
            guard let norm = NormalizerKernel.Norm(rawValue: name) else { throw fail("unsupported norm '\(name)'") }
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
            // The binary classifier's one score becomes two columns only under NONE and LOGISTIC;
            // onnxruntime fills the other transforms' second column inconsistently (PROBIT leaves
            // half of it unwritten), so they are refused rather than guessed.
            guard !binary || post == .none || post == .logistic else {
                throw fail("post_transform '\(post.rawValue)' is not supported for a binary LinearClassifier (one coefficient row, two labels)")
            }
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
        var featureCount = 0
        for i in 0..<n {
            guard let mode = TreeEnsembleKernel.Mode(name: modes[i]) else { throw fail("unsupported node mode '\(modes[i])'") }
            var t = -1, f = -1
            if mode != .leaf {
                guard let ti = index[TreeKey(tree: treeIDs[i], node: trueIDs[i])], let fi = index[TreeKey(tree: treeIDs[i], node: falseIDs[i])] else {
                    throw fail("node \(nodeIDs[i]) of tree \(treeIDs[i]) points to a missing child")
                }
                guard features[i] >= 0, features[i] < 1 << 20 else { throw fail("invalid feature id \(features[i])") }
                t = ti; f = fi
                featureCount = Swift.max(featureCount, Int(features[i]) + 1)
            }
            nodes.append(.init(mode: mode, missingTracksTrue: !missing.isEmpty && missing[i] != 0, feature: Int32(features[i]),
                               value: values[i], trueChild: Int32(t), falseChild: Int32(f), weightStart: 0, weightEnd: 0))
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
            guard labels.count >= 2 else { throw fail("classlabels_int64s must name at least 2 classes") }
            outputs = labels.count
        } else {
            outputs = Int(try attrs.int("n_targets", default: 1))
            guard outputs >= 1, outputs <= 1 << 16 else { throw fail("invalid n_targets") }
        }
        // Leaf weights grouped by leaf (in attribute order within a leaf, the order they are summed in).
        var leafWeights = [[(target: Int32, value: Float)]](repeating: [], count: n)
        for k in 0..<wTrees.count {
            guard let i = index[TreeKey(tree: wTrees[k], node: wNodes[k])], nodes[i].mode == .leaf else {
                throw fail("\(prefix) weight \(k) refers to a node that is not a leaf")
            }
            guard wIDs[k] >= 0, wIDs[k] < Int64(outputs) else { throw fail("\(prefix)_ids has \(wIDs[k]) outside 0..<\(outputs)") }
            leafWeights[i].append((Int32(wIDs[k]), wValues[k]))
        }
        var weightTargets: [Int32] = [], weightValues: [Float] = []
        weightTargets.reserveCapacity(wTrees.count)
        weightValues.reserveCapacity(wTrees.count)
        for i in 0..<n {
            nodes[i].weightStart = Int32(weightTargets.count)
            for w in leafWeights[i] { weightTargets.append(w.target); weightValues.append(w.value) }
            nodes[i].weightEnd = Int32(weightTargets.count)
        }
        // Roots: nodes no branch points to, in tree order.
        var isChild = [Bool](repeating: false, count: n)
        for node in nodes where node.mode != .leaf { isChild[Int(node.trueChild)] = true; isChild[Int(node.falseChild)] = true }
        let roots = (0..<n).filter { !isChild[$0] }
        // Every node must be reached exactly once from a root: no cycles, no shared subtrees, so
        // evaluation always terminates.
        var visited = [Bool](repeating: false, count: n)
        var stack = roots
        while let i = stack.popLast() {
            guard !visited[i] else { throw fail("tree \(treeIDs[i]) is not a tree (node \(nodeIDs[i]) is reached twice)") }
            visited[i] = true
            if nodes[i].mode != .leaf { stack.append(Int(nodes[i].trueChild)); stack.append(Int(nodes[i].falseChild)) }
        }
        guard visited.allSatisfy({ $0 }) else { throw fail("the trees contain a cycle (some nodes are unreachable from any root)") }
        let base = floats("base_values")
        guard base.isEmpty || base.count == outputs || (isClassifier && base.count == 1) else { throw fail("base_values has \(base.count) values for \(outputs) outputs") }
        let post = try MLPostTransform(string(attrs, "post_transform", default: "NONE"), self)
        let aggregateName = try string(attrs, "aggregate_function", default: "SUM")
        guard let aggregate = TreeEnsembleKernel.Aggregate(rawValue: aggregateName) else { throw fail("unsupported aggregate_function '\(aggregateName)'") }
        if !isClassifier, post != .none { throw fail("post_transform '\(post)' is not supported for TreeEnsembleRegressor") }
        let usedClasses = Set(wIDs)
        let kernel = TreeEnsembleKernel(nodes: nodes, weightTargets: weightTargets, weightValues: weightValues,
                                        roots: roots.map { Int32($0) }, outputs: outputs, base: base, post: post, aggregate: aggregate,
                                        labels: labels, binaryCase: isClassifier && labels.count == 2 && usedClasses.count == 1,
                                        weightsAllPositive: wValues.allSatisfy { $0 >= 0 }, featureCount: featureCount)
        let batch = x.shape.rank == 2 ? x.shape.dims[0] : .fixed(1)
        if isClassifier {
            return (kernel, [InferredShape([batch]), InferredShape([batch, .fixed(outputs)])], [.int64, .float32])
        }
        return (kernel, [InferredShape([batch, .fixed(outputs)])], [.float32])
    }
}

struct TreeKey: Hashable { var tree: Int64; var node: Int64 }

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

/// ONNX-ML Scaler: `(x - offset) * scale` per feature (the last axis), with a single value or
/// none standing for every feature.
struct ScalerKernel: NodeKernel {
    let offset: [Float], scale: [Float]

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let v = x.storage.floatValues
        let c = x.shape.last ?? 1
        guard let (offsets, scales) = perFeature(c) else {
            throw node.invalid("offset/scale have \(offset.count)/\(scale.count) values for \(c) features")
        }
        let y = [Float](uninitializedCount: v.count) { buffer, initialized in
            Self.apply(v, buffer.baseAddress!, count: v.count, offsets: offsets, scales: scales)
            initialized = v.count
        }
        return [Tensor(shape: x.shape, storage: .float32(y))]
    }

    /// Offset and scale spelled out for each of `features` features, nil when the attributes
    /// fit neither one value nor `features` values.
    func perFeature(_ features: Int) -> (offsets: [Float], scales: [Float])? {
        func spelled(_ p: [Float], _ absent: Float) -> [Float]? {
            if p.isEmpty { return [Float](repeating: absent, count: features) }
            if p.count == 1 { return [Float](repeating: p[0], count: features) }
            return p.count == features ? p : nil
        }
        guard let o = spelled(offset, 0), let s = spelled(scale, 1) else { return nil }
        return (o, s)
    }

    /// `y = (x - offsets[j]) * scales[j]` over `count` elements whose last axis has
    /// `offsets.count` features.
    static func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, offsets: [Float], scales: [Float]) {
        let c = offsets.count
        guard count > 0, c > 0 else { return }
        offsets.withUnsafeBufferPointer { o in
            scales.withUnsafeBufferPointer { s in
                for base in stride(from: 0, to: count, by: c) {
                    for j in 0..<c { y[base + j] = (x[base + j] - o[j]) * s[j] }
                }
            }
        }
    }
}

/// ONNX-ML Normalizer: each row divided by its max, L1 or L2 norm (rows whose norm is 0 are
/// left as they are).
struct NormalizerKernel: NodeKernel {
    enum Norm: String, Sendable { case max = "MAX", l1 = "L1", l2 = "L2" }
    let norm: Norm

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (v, rows, cols) = try node.matrix(inputs[0])
        let y = [Float](uninitializedCount: v.count) { buffer, initialized in
            normalize(v, buffer.baseAddress!, rows: rows, columns: cols)
            initialized = v.count
        }
        return [Tensor(shape: inputs[0]!.shape, storage: .float32(y))]
    }

    func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        guard columns > 0 else { return }
        for r in 0..<rows {
            let row = x + r * columns, out = y + r * columns
            var d: Float
            switch norm {
            case .max:
                // NaN handled as Array.max() does, which this replaced.
                d = row[0]
                for j in 1..<columns where d < row[j] { d = row[j] }
            case .l1:
                d = 0
                for j in 0..<columns { d += Swift.abs(row[j]) }
            case .l2:
                d = 0
                for j in 0..<columns { d += row[j] * row[j] }
                d = sqrtf(d)
            }
            for j in 0..<columns { out[j] = d == 0 ? row[j] : row[j] / d }
        }
    }
}

/// ONNX-ML LinearRegressor and LinearClassifier: `coefficients · x + intercepts` per row, and
/// for the classifier the label and post-transformed scores with onnxruntime's binary
/// (one-score) conventions.
struct LinearKernel: NodeKernel {
    struct Classifier: Sendable { var labels: [Int64]; var post: MLPostTransform }
    let coefficients: [Float], intercepts: [Float], rows: Int
    let classifier: Classifier?

    /// Columns of the scores output: the binary classifier's one score becomes two (its
    /// transform is NONE or LOGISTIC, checked at load); otherwise one per coefficient row.
    var scoreWidth: Int {
        guard let classifier, rows == 1, classifier.labels.count == 2 else { return rows }
        return 2
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, n, c) = try node.matrix(inputs[0])
        guard coefficients.count == rows * c else { throw node.invalid("the model has \(coefficients.count / rows) features, the input \(c)") }
        let width = scoreWidth
        var predicted = [Int64](repeating: 0, count: classifier == nil ? 0 : n)
        let scores = [Float](uninitializedCount: n * width) { buffer, initialized in
            predicted.withUnsafeMutableBufferPointer { labels in
                evaluate(x, rows: n, columns: c, scores: buffer.baseAddress!, labels: labels.baseAddress)
            }
            initialized = n * width
        }
        let scoreTensor = Tensor(shape: [n, width], storage: .float32(scores))
        return classifier == nil ? [scoreTensor] : [Tensor(shape: [n], storage: .int64(predicted)), scoreTensor]
    }

    /// The scores (`rows × scoreWidth`) and, for a classifier, the labels (nil when nothing
    /// reads them) of `rows` rows of `columns` features (`coefficients.count / self.rows`).
    func evaluate(_ x: UnsafePointer<Float>, rows n: Int, columns c: Int, scores: UnsafeMutablePointer<Float>,
                  labels predicted: UnsafeMutablePointer<Int64>?) {
        let width = scoreWidth
        coefficients.withUnsafeBufferPointer { coefficients in
            for i in 0..<n {
                let s = scores + i * width, row = x + i * c
                for k in 0..<rows {
                    var sum = intercepts.isEmpty ? 0 : intercepts[k]
                    let w = coefficients.baseAddress! + k * c
                    for j in 0..<c { sum += row[j] * w[j] }
                    s[k] = sum
                }
                guard let classifier else { continue }
                let labels = classifier.labels
                let label: Int64
                if rows == 1 {
                    // Binary: one score; positive means the second label (onnxruntime LinearClassifier).
                    let positive = s[0] > 0
                    label = labels.count == 2 ? labels[positive ? 1 : 0] : (positive ? 1 : 0)
                    if labels.count == 2 {
                        if classifier.post == .logistic {
                            let p = MLPostTransform.logistic(s[0]); s[0] = 1 - p; s[1] = p
                        } else {
                            s[1] = s[0]; s[0] = -s[0]
                        }
                    } else {
                        _ = classifier.post.write(s, count: 1, addSecondClass: -1)
                    }
                } else {
                    var best = 0
                    for k in 1..<rows where s[k] > s[best] { best = k }
                    label = labels.count == rows ? labels[best] : Int64(best)
                    _ = classifier.post.write(s, count: rows, addSecondClass: -1)
                }
                predicted?[i] = label
            }
        }
    }
}

/// ONNX-ML ArrayFeatureExtractor: the elements at the given indices of the last axis, for
/// every leading position (a 1-D input is one row).
struct ArrayFeatureExtractorKernel: NodeKernel {
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let x = try node.required(inputs, 0)
        let idx = try node.ints(try node.required(inputs, 1))
        guard let stride = x.shape.last, stride > 0 else { throw node.invalid("empty input") }
        if let bad = idx.withUnsafeBufferPointer({ Self.outOfRange($0.baseAddress, count: idx.count, stride: stride) }) {
            throw node.invalid("index \(bad) is out of range for \(stride) features")
        }
        let rows = x.elementCount / stride
        var shape = x.shape.count == 1 ? [1] : Array(x.shape.dropLast())
        shape.append(idx.count)
        let storage: TensorStorage = switch x.storage {
        case .float32(let v): .float32(Self.picked(v, rows: rows, stride: stride, indices: idx))
        case .int64(let v): .int64(Self.picked(v, rows: rows, stride: stride, indices: idx))
        case .int32(let v): .int32(Self.picked(v, rows: rows, stride: stride, indices: idx))
        case .bool(let v): .bool(Self.picked(v, rows: rows, stride: stride, indices: idx))
        }
        return [Tensor(shape: shape, storage: storage)]
    }

    /// ``extract(_:elementBytes:rows:stride:indices:count:into:)`` into a new array.
    private static func picked<T>(_ values: [T], rows: Int, stride: Int, indices: [Int64]) -> [T] {
        let count = rows * indices.count
        return [T](uninitializedCount: count) { buffer, initialized in
            if count > 0 {
                values.withUnsafeBytes { source in
                    indices.withUnsafeBufferPointer { at in
                        extract(source.baseAddress!, elementBytes: MemoryLayout<T>.stride, rows: rows, stride: stride,
                                indices: at.baseAddress!, count: indices.count, into: UnsafeMutableRawPointer(buffer.baseAddress!))
                    }
                }
            }
            initialized = count
        }
    }

    /// The first index outside `0..<stride`, nil when all are inside.
    static func outOfRange(_ indices: UnsafePointer<Int64>?, count: Int, stride: Int) -> Int64? {
        guard let indices else { return nil }
        for i in 0..<count where indices[i] < 0 || indices[i] >= Int64(stride) { return indices[i] }
        return nil
    }

    /// Copies the `count` picked elements of each of `rows` rows of `stride` elements of
    /// `elementBytes` bytes. Indices must be in range (``outOfRange(_:count:stride:)``).
    static func extract(_ x: UnsafeRawPointer, elementBytes: Int, rows: Int, stride: Int, indices: UnsafePointer<Int64>,
                        count: Int, into y: UnsafeMutableRawPointer) {
        switch elementBytes {
        case 8: copy(x, y, UInt64.self, rows, stride, indices, count)
        case 4: copy(x, y, UInt32.self, rows, stride, indices, count)
        case 2: copy(x, y, UInt16.self, rows, stride, indices, count)
        default: copy(x, y, UInt8.self, rows, stride, indices, count)
        }
    }

    /// Element copies as `T` bit patterns (loads and stores that do not bind the memory's type).
    @inline(__always)
    private static func copy<T>(_ x: UnsafeRawPointer, _ y: UnsafeMutableRawPointer, _ type: T.Type, _ rows: Int, _ stride: Int,
                                _ indices: UnsafePointer<Int64>, _ count: Int) {
        let size = MemoryLayout<T>.size
        for r in 0..<rows {
            let row = x + r * stride * size, out = y + r * count * size
            for i in 0..<count {
                out.storeBytes(of: row.load(fromByteOffset: Int(indices[i]) * size, as: T.self), toByteOffset: i * size, as: T.self)
            }
        }
    }
}
