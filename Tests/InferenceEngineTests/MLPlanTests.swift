import Testing
@testable import InferenceEngine

/// One `ai.onnx.ml` node as a model, written with ``ProtoWriter``: float or integer inputs
/// with a symbolic batch, optional int64 initializers, and attributes of every kind the ML
/// operators take.
struct MLNodeModel {
    enum Attribute {
        case int(Int64), float(Float), string(String), ints([Int64]), floats([Float]), strings([String])
    }
    struct Value { var name: String; var elementType: Int; var dims: [Int?] }

    var opType: String
    var inputs: [Value]
    var outputs: [Value]
    var attributes: [(String, Attribute)]
    /// int64 initializers (name, dims, values), e.g. ArrayFeatureExtractor indices.
    var initializers: [(String, [Int], [Int64])] = []

    static let float = 1, int32 = 6, int64 = 7

    var bytes: [UInt8] {
        var graph = ProtoWriter()
        graph.message(1) { node in
            for input in inputs { node.string(1, input.name) }
            for (name, _, _) in initializers { node.string(1, name) }
            for output in outputs { node.string(2, output.name) }
            node.string(3, opType)
            node.string(4, opType)
            for (name, value) in attributes {
                node.message(5) { a in
                    a.string(1, name)
                    switch value {
                    case .int(let v): a.int(3, v); a.int(20, 2)
                    case .float(let v): a.tag(2, 5); a.bytes += Self.littleEndian(v.bitPattern); a.int(20, 1)
                    case .string(let v): a.string(4, v); a.int(20, 3)
                    case .floats(let v): a.bytesField(7, v.flatMap { Self.littleEndian($0.bitPattern) }); a.int(20, 6)
                    case .ints(let v):
                        var packed = ProtoWriter()
                        for i in v { packed.varint(UInt64(bitPattern: i)) }
                        a.bytesField(8, packed.bytes); a.int(20, 7)
                    case .strings(let v): for s in v { a.string(9, s) }; a.int(20, 8)
                    }
                }
            }
            node.string(7, "ai.onnx.ml")
        }
        graph.string(2, "ml")
        for (name, dims, values) in initializers {
            graph.message(5) { t in
                for d in dims { t.int(1, Int64(d)) }
                t.int(2, Int64(Self.int64))
                for v in values { t.int(7, v) }
                t.string(8, name)
            }
        }
        for (field, values) in [(11, inputs), (12, outputs)] {
            for value in values {
                graph.message(field) { info in
                    info.string(1, value.name)
                    info.message(2) { type in type.message(1) { tensor in
                        tensor.int(1, Int64(value.elementType))
                        tensor.message(2) { shape in
                            for d in value.dims { shape.message(1) { if let d { $0.int(1, Int64(d)) } else { $0.string(2, "N") } } }
                        }
                    } }
                }
            }
        }
        var model = ProtoWriter()
        model.int(1, 8)
        model.message(8) { $0.int(2, 17) }
        model.message(8) { $0.string(1, "ai.onnx.ml"); $0.int(2, 3) }
        model.message(7) { $0.bytes += graph.bytes }
        return model.bytes
    }

    static func littleEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    func load(planned: Bool, threads: Int = 1) throws -> Model {
        try Model(bytes: bytes, modelDirectory: nil,
                  options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: .none, intraOpThreads: threads, plannedExecution: planned))
    }
}

/// Deterministic feature values in about [-2, 2) (with NaN at `nanEvery` positions).
func mlFeatures(_ count: Int, seed: UInt64 = 1, nanEvery: Int = 0) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in
        if nanEvery > 0 && i % nanEvery == nanEvery - 1 { return .nan }
        return Float(Int(rng.next() % 4000) - 2000) / 1000
    }
}

@Suite("ONNX-ML operators in execution plans")
struct MLPlanTests {
    /// Runs `inputs` three times on a planned model (the first run records, the others go
    /// through the plan) and on the general executor, expects bit-identical outputs and that the
    /// plan was made. Float inputs change from run to run (same shapes), so a bound kernel that
    /// left memory unwritten cannot pass on a previous run's result. Returns the first run's outputs.
    @discardableResult
    static func plannedMatches(_ model: MLNodeModel, _ inputs: [String: Tensor], _ context: String, threads: Int = 1) throws -> [Tensor] {
        let general = try model.load(planned: false)
        let planned = try model.load(planned: true, threads: threads)
        var first: [Tensor] = []
        for run in 0..<3 {
            let request = inputs.mapValues { t in
                t.elementType == .float32 ? Tensor(shape: t.shape, scalars: t.scalars.map { $0 * (1 + Float(run) * 0.35) - Float(run) * 0.1 }) : t
            }
            let reference = try general.run(request)
            if run == 0 { first = reference }
            let results = try planned.run(request)
            #expect(results.count == reference.count, "\(context)")
            for (got, expected) in zip(results, reference) {
                #expect(got.shape == expected.shape, "\(context), run \(run)")
                #expect(got.elementType == expected.elementType, "\(context), run \(run)")
                if expected.elementType == .float32 {
                    #expect(got.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern), "\(context), run \(run): \(got.scalars) vs \(expected.scalars)")
                } else {
                    #expect(got.storage.int64Values == expected.storage.int64Values, "\(context), run \(run)")
                }
            }
        }
        let ordered = planned.inputs.map { inputs[$0.name]! }
        switch planned.graphForTesting.planEntry(for: ordered) {
        case .plan?: break
        case .refused(_, let why)?: Issue.record("\(context): not planned: \(why)")
        case nil: Issue.record("\(context): no plan entry")
        }
        return first
    }

    static func x(_ type: Int = MLNodeModel.float, _ dims: [Int?] = [nil, 3]) -> MLNodeModel.Value { .init(name: "X", elementType: type, dims: dims) }
    static func y(_ name: String = "Y", _ type: Int = MLNodeModel.float, _ dims: [Int?] = [nil, 3]) -> MLNodeModel.Value {
        .init(name: name, elementType: type, dims: dims)
    }

    @Test func scaler() throws {
        let perFeature = MLNodeModel(opType: "Scaler", inputs: [Self.x()], outputs: [Self.y()],
                                     attributes: [("offset", .floats([0.5, -1, 2])), ("scale", .floats([3]))])
        let rows = mlFeatures(12)
        let out = try Self.plannedMatches(perFeature, ["X": Tensor(shape: [4, 3], scalars: rows)], "Scaler float")
        #expect(out[0].scalars[0] == (rows[0] - 0.5) * 3)
        #expect(out[0].scalars[4] == (rows[4] + 1) * 3)
        try Self.plannedMatches(perFeature, ["X": Tensor(shape: [0, 3], scalars: [])], "Scaler empty batch")

        let integer = MLNodeModel(opType: "Scaler", inputs: [Self.x(MLNodeModel.int64)], outputs: [Self.y()],
                                  attributes: [("offset", .floats([1])), ("scale", .floats([0.5, 2, -1]))])
        try Self.plannedMatches(integer, ["X": Tensor(shape: [2, 3], int64s: [1, -2, 3, 40, 5, -600])], "Scaler int64")

        let rank3 = MLNodeModel(opType: "Scaler", inputs: [Self.x(MLNodeModel.int32, [nil, 2, 3])], outputs: [Self.y("Y", MLNodeModel.float, [nil, 2, 3])],
                                attributes: [("offset", .floats([1, 2, 3]))])
        try Self.plannedMatches(rank3, ["X": Tensor(shape: [2, 2, 3], int32s: (0..<12).map { Int32($0 * 7 - 30) })], "Scaler int32 rank 3")
    }

    @Test(arguments: ["MAX", "L1", "L2"])
    func normalizer(_ norm: String) throws {
        let model = MLNodeModel(opType: "Normalizer", inputs: [Self.x()], outputs: [Self.y()], attributes: [("norm", .string(norm))])
        // The second row is all zeros: left as it is.
        var values = mlFeatures(12, seed: 3)
        values.replaceSubrange(3..<6, with: [0, 0, 0])
        let out = try Self.plannedMatches(model, ["X": Tensor(shape: [4, 3], scalars: values)], "Normalizer \(norm)")
        #expect(Array(out[0].scalars[3..<6]) == [0, 0, 0])

        let vector = MLNodeModel(opType: "Normalizer", inputs: [Self.x(MLNodeModel.int64, [5])], outputs: [Self.y("Y", MLNodeModel.float, [5])],
                                 attributes: [("norm", .string(norm))])
        try Self.plannedMatches(vector, ["X": Tensor(shape: [5], int64s: [3, -4, 0, 12, 1])], "Normalizer \(norm) 1-D int64")
    }

    @Test func linearRegressor() throws {
        let model = MLNodeModel(opType: "LinearRegressor", inputs: [Self.x()], outputs: [Self.y("Y", MLNodeModel.float, [nil, 2])],
                                attributes: [("coefficients", .floats([1, 2, 3, -1, 0.5, 0.25])), ("intercepts", .floats([0.5, -2])),
                                             ("targets", .int(2))])
        let out = try Self.plannedMatches(model, ["X": Tensor(shape: [3, 3], scalars: [1, 1, 1, 0, 2, 4, -1, 0, 1])], "LinearRegressor")
        #expect(out[0].scalars == [6.5, -2.25, 16.5, -0, 2.5, -0.75])

        let integer = MLNodeModel(opType: "LinearRegressor", inputs: [Self.x(MLNodeModel.int32, [3])], outputs: [Self.y("Y", MLNodeModel.float, [1, 1])],
                                  attributes: [("coefficients", .floats([1, 2, 3]))])
        try Self.plannedMatches(integer, ["X": Tensor(shape: [3], int32s: [4, 5, -6])], "LinearRegressor 1-D int32")
    }

    static func linearClassifier(rows: Int, labels: [Int64], post: String, outputs: [MLNodeModel.Value]? = nil) -> MLNodeModel {
        MLNodeModel(opType: "LinearClassifier", inputs: [x()],
                    outputs: outputs ?? [y("label", MLNodeModel.int64, [nil]), y("probabilities", MLNodeModel.float, [nil, nil])],
                    attributes: [("coefficients", .floats(Array(mlFeatures(rows * 3, seed: 5)))), ("intercepts", .floats(Array(mlFeatures(rows, seed: 6)))),
                                 ("classlabels_ints", .ints(labels)), ("post_transform", .string(post))])
    }

    @Test(arguments: ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"])
    func linearClassifier(_ post: String) throws {
        let inputs = ["X": Tensor(shape: [6, 3], scalars: mlFeatures(18, seed: 7))]
        let multi = try Self.plannedMatches(Self.linearClassifier(rows: 3, labels: [10, 20, 30], post: post), inputs, "LinearClassifier 3 classes \(post)")
        #expect(multi[1].shape == [6, 3])
        #expect(multi[0].storage.int64Values.allSatisfy { [10, 20, 30].contains($0) })
        // Binary: one coefficient row, two labels; the score becomes two columns (NONE and
        // LOGISTIC; the other transforms are refused at load).
        let binaryModel = Self.linearClassifier(rows: 1, labels: [4, 7], post: post)
        guard post == "NONE" || post == "LOGISTIC" else {
            #expect(throws: ModelLoadError.self) { try binaryModel.load(planned: true) }
            return
        }
        let binary = try Self.plannedMatches(binaryModel, inputs, "LinearClassifier binary \(post)")
        #expect(binary[1].shape == [6, 2])
        #expect(binary[0].storage.int64Values.allSatisfy { [4, 7].contains($0) })
    }

    @Test func linearClassifierLabelsOnly() throws {
        // Nothing reads the scores: the bound kernel computes them in scratch space.
        let model = Self.linearClassifier(rows: 3, labels: [1, 2, 3], post: "SOFTMAX", outputs: [Self.y("label", MLNodeModel.int64, [nil])])
        let out = try Self.plannedMatches(model, ["X": Tensor(shape: [5, 3], scalars: mlFeatures(15, seed: 8))], "LinearClassifier labels only")
        #expect(out.count == 1 && out[0].shape == [5])
    }

    @Test func arrayFeatureExtractor() throws {
        let columns = MLNodeModel(opType: "ArrayFeatureExtractor", inputs: [Self.x()], outputs: [Self.y("Y", MLNodeModel.float, [nil, 3])],
                                  attributes: [], initializers: [("I", [3], [2, 0, 2])])
        let out = try Self.plannedMatches(columns, ["X": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])], "ArrayFeatureExtractor columns")
        #expect(out[0].scalars == [3, 1, 3, 6, 4, 6])

        // skl2onnx's label lookup: a constant class list indexed by per-request positions.
        let lookup = MLNodeModel(opType: "ArrayFeatureExtractor",
                                 inputs: [.init(name: "C", elementType: MLNodeModel.int64, dims: [4]), .init(name: "I", elementType: MLNodeModel.int64, dims: [nil])],
                                 outputs: [Self.y("Y", MLNodeModel.int64, [1, nil])], attributes: [])
        let classes = Tensor(shape: [4], int64s: [10, 11, 12, 13])
        let picked = try Self.plannedMatches(lookup, ["C": classes, "I": Tensor(shape: [3], int64s: [3, 0, 1])], "ArrayFeatureExtractor lookup")
        #expect(picked[0].storage.int64Values == [13, 10, 11])

        // Same shapes, other index values: the plan reads them per run and refuses one out of range.
        let planned = try lookup.load(planned: true)
        _ = try planned.run(["C": classes, "I": Tensor(shape: [3], int64s: [0, 1, 2])])
        #expect(try planned.run(["C": classes, "I": Tensor(shape: [3], int64s: [2, 2, 1])])[0].storage.int64Values == [12, 12, 11])
        for bad: Int64 in [4, -1] {
            #expect(throws: InferenceError.invalidInput("node 'ArrayFeatureExtractor' (ArrayFeatureExtractor): index \(bad) is out of range for 4 features")) {
                try planned.run(["C": classes, "I": Tensor(shape: [3], int64s: [0, bad, 1])])
            }
        }
        if case .refused(_, let why)? = planned.graphForTesting.planEntry(for: [classes, Tensor(shape: [3], int64s: [0, 0, 0])]) {
            Issue.record("not planned: \(why)")
        }
    }

    /// Two trees over 3 features: tree 0 splits on feature 0 (NaN goes true) then feature 2;
    /// tree 1 splits on feature 1 with BRANCH_GT. Leaves carry weights for `targets` outputs
    /// (some leaves only for output 0, as binary classifiers have).
    static func trees(_ opType: String, targets: Int, extra: [(String, MLNodeModel.Attribute)], weightsOnOutput0Only: Bool = false,
                      outputs: [MLNodeModel.Value], inputType: Int = MLNodeModel.float) -> MLNodeModel {
        let prefix = opType == "TreeEnsembleClassifier" ? "class" : "target"
        // Tree 0: node 0 (f0 <= 0.1) → 1 / 2; node 1 (f2 < -0.5) → 3 / 4; leaves 2, 3, 4.
        // Tree 1: node 0 (f1 > 0.3) → 1 / 2; leaves 1, 2.
        let leaves: [(tree: Int64, node: Int64)] = [(0, 2), (0, 3), (0, 4), (1, 1), (1, 2)]
        var wTrees: [Int64] = [], wNodes: [Int64] = [], wIDs: [Int64] = [], wValues: [Float] = []
        for (i, leaf) in leaves.enumerated() {
            for t in 0..<(weightsOnOutput0Only ? 1 : targets) {
                wTrees.append(leaf.tree); wNodes.append(leaf.node); wIDs.append(Int64(t))
                wValues.append(Float(i + 1) * 0.25 - Float(t) * 0.4)
            }
        }
        return MLNodeModel(opType: opType, inputs: [x(inputType)], outputs: outputs, attributes: [
            ("nodes_treeids", .ints([0, 0, 0, 0, 0, 1, 1, 1])),
            ("nodes_nodeids", .ints([0, 1, 2, 3, 4, 0, 1, 2])),
            ("nodes_featureids", .ints([0, 2, 0, 0, 0, 1, 0, 0])),
            ("nodes_values", .floats([0.1, -0.5, 0, 0, 0, 0.3, 0, 0])),
            ("nodes_modes", .strings(["BRANCH_LEQ", "BRANCH_LT", "LEAF", "LEAF", "LEAF", "BRANCH_GT", "LEAF", "LEAF"])),
            ("nodes_truenodeids", .ints([1, 3, 0, 0, 0, 1, 0, 0])),
            ("nodes_falsenodeids", .ints([2, 4, 0, 0, 0, 2, 0, 0])),
            ("nodes_missing_value_tracks_true", .ints([1, 0, 0, 0, 0, 0, 0, 0])),
            ("\(prefix)_treeids", .ints(wTrees)), ("\(prefix)_nodeids", .ints(wNodes)), ("\(prefix)_ids", .ints(wIDs)),
            ("\(prefix)_weights", .floats(wValues)),
        ] + extra)
    }

    @Test(arguments: ["SUM", "AVERAGE", "MIN", "MAX"])
    func treeEnsembleRegressor(_ aggregate: String) throws {
        let model = Self.trees("TreeEnsembleRegressor", targets: 2,
                               extra: [("n_targets", .int(2)), ("aggregate_function", .string(aggregate)), ("base_values", .floats([1, -1]))],
                               outputs: [Self.y("Y", MLNodeModel.float, [nil, 2])])
        let values = mlFeatures(3 * 9, seed: 11, nanEvery: 5)
        try Self.plannedMatches(model, ["X": Tensor(shape: [9, 3], scalars: values)], "TreeEnsembleRegressor \(aggregate)")
        try Self.plannedMatches(model, ["X": Tensor(shape: [0, 3], scalars: [])], "TreeEnsembleRegressor \(aggregate) empty batch")
        let row = try Self.plannedMatches(model, ["X": Tensor(shape: [1, 3], scalars: [0, 0, 0])], "TreeEnsembleRegressor \(aggregate) one row")
        // f0 = 0 <= 0.1 and f2 = 0 >= -0.5: leaf (0, 4), weights 0.75 / 0.35; f1 = 0 <= 0.3: leaf (1, 2), 1.25 / 0.85.
        let expected: [Float] = switch aggregate {
        case "SUM": [2 + 1, 1.2 - 1]
        case "AVERAGE": [1 + 1, 0.6 - 1]
        case "MIN": [0.75 + 1, 0.35 - 1]
        default: [1.25 + 1, 0.85 - 1]
        }
        assertClose(row[0].scalars, expected, context: "TreeEnsembleRegressor \(aggregate)", rtol: 1e-6, atol: 1e-6)
    }

    static let classifierOutputs = [y("label", MLNodeModel.int64, [nil]), y("probabilities", MLNodeModel.float, [nil, nil])]

    @Test(arguments: ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"])
    func treeEnsembleClassifier(_ post: String) throws {
        let inputs = ["X": Tensor(shape: [9, 3], scalars: mlFeatures(27, seed: 13, nanEvery: 4))]
        let multi = Self.trees("TreeEnsembleClassifier", targets: 3,
                               extra: [("classlabels_int64s", .ints([5, 6, 7])), ("post_transform", .string(post)), ("base_values", .floats([0.1, 0.2, 0.3]))],
                               outputs: Self.classifierOutputs)
        try Self.plannedMatches(multi, inputs, "TreeEnsembleClassifier 3 classes \(post)")
        // Binary with weights for one class only (gradient boosting): the second score is made up.
        for (base, weights) in [([Float](), "positive"), ([-0.5], "one base"), ([0.25, -0.25], "two bases")] {
            let binary = Self.trees("TreeEnsembleClassifier", targets: 2,
                                    extra: [("classlabels_int64s", .ints([0, 1])), ("post_transform", .string(post))] + (base.isEmpty ? [] : [("base_values", .floats(base))]),
                                    weightsOnOutput0Only: true, outputs: Self.classifierOutputs)
            let out = try Self.plannedMatches(binary, inputs, "TreeEnsembleClassifier binary \(post) \(weights)")
            #expect(out[1].shape == [9, 2])
        }
        // Binary with weights for both classes (random forest).
        let forest = Self.trees("TreeEnsembleClassifier", targets: 2, extra: [("classlabels_int64s", .ints([3, 8])), ("post_transform", .string(post))],
                                outputs: Self.classifierOutputs)
        try Self.plannedMatches(forest, inputs, "TreeEnsembleClassifier forest \(post)")
    }

    @Test func treeEnsembleClassifierLabelsOnlyAndIntegerInput() throws {
        let model = Self.trees("TreeEnsembleClassifier", targets: 3, extra: [("classlabels_int64s", .ints([5, 6, 7]))],
                               outputs: [Self.y("label", MLNodeModel.int64, [nil])], inputType: MLNodeModel.int64)
        let out = try Self.plannedMatches(model, ["X": Tensor(shape: [4, 3], int64s: [0, 0, 0, 1, 1, -1, -3, 2, 2, 5, -5, 0])],
                                          "TreeEnsembleClassifier labels only, int64 features")
        #expect(out.count == 1 && out[0].shape == [4])
    }

    @Test func treeEnsembleSplitsRowsOverThreads() throws {
        // Enough rows × trees for the pool to split the batch; every row is computed alike
        // (the reference runs serially).
        let model = Self.trees("TreeEnsembleClassifier", targets: 3, extra: [("classlabels_int64s", .ints([5, 6, 7])), ("post_transform", .string("SOFTMAX"))],
                               outputs: Self.classifierOutputs)
        let inputs = ["X": Tensor(shape: [1500, 3], scalars: mlFeatures(4500, seed: 17, nanEvery: 7))]
        try Self.plannedMatches(model, inputs, "TreeEnsembleClassifier on 4 threads", threads: 4)
    }

    @Test func singleClassTreeClassifierIsRefusedAtLoad() throws {
        let model = Self.trees("TreeEnsembleClassifier", targets: 1, extra: [("classlabels_int64s", .ints([5]))], outputs: Self.classifierOutputs)
        #expect(throws: ModelLoadError.self) { try model.load(planned: true) }
    }
}
