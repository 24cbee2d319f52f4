import Testing
@testable import InferenceEngine

/// A one-node (or few-node) ONNX model written with ``ProtoWriter``, for exercising the bound
/// forms of the data-movement operators on shapes and attributes the fixtures do not cover.
struct TinyGraph {
    enum Attribute {
        case int(Int64), ints([Int64]), float(Float), string(String)
    }
    struct Node {
        var op: String
        var inputs: [String]
        var outputs: [String]
        var attributes: [(String, Attribute)] = []
    }

    var nodes: [Node] = []
    /// Graph inputs: name, ONNX element type number, dimensions.
    var inputs: [(String, Int64, [Int])] = []
    var outputs: [String] = []
    /// Initializers: name, dims, int64 contents (element type 7) or float contents (type 1).
    var intConstants: [(String, [Int], [Int64])] = []
    var floatConstants: [(String, [Int], [Float])] = []
    var opset: Int64 = 18

    func bytes() -> [UInt8] {
        var graph = ProtoWriter()
        for (i, n) in nodes.enumerated() {
            graph.message(1) { node in
                for input in n.inputs { node.string(1, input) }
                for output in n.outputs { node.string(2, output) }
                node.string(3, "n\(i)")
                node.string(4, n.op)
                for (name, value) in n.attributes {
                    node.message(5) { a in
                        a.string(1, name)
                        switch value {
                        case .int(let v): a.int(3, v); a.int(20, 2)
                        case .ints(let v): for x in v { a.int(8, x) }; a.int(20, 7)
                        case .float(let v): a.tag(2, 5); a.bytes += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }; a.int(20, 1)
                        case .string(let v): a.string(4, v); a.int(20, 3)
                        }
                    }
                }
            }
        }
        graph.string(2, "g")
        for (name, dims, values) in intConstants {
            graph.message(5) { t in
                for d in dims { t.int(1, Int64(d)) }
                t.int(2, 7)
                for v in values { t.int(7, v) }
                t.string(8, name)
            }
        }
        for (name, dims, values) in floatConstants {
            graph.message(5) { t in
                for d in dims { t.int(1, Int64(d)) }
                t.int(2, 1)
                t.string(8, name)
                t.bytesField(9, values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } })
            }
        }
        for (name, type, dims) in inputs {
            graph.message(11) { info in
                info.string(1, name)
                info.message(2) { t in t.message(1) { tensor in
                    tensor.int(1, type)
                    tensor.message(2) { shape in for d in dims { shape.message(1) { $0.int(1, Int64(d)) } } }
                } }
            }
        }
        for name in outputs { graph.message(12) { $0.string(1, name) } }
        var model = ProtoWriter()
        model.int(1, 8)
        model.message(8) { $0.int(2, opset) }
        model.message(7) { $0.bytes += graph.bytes }
        return model.bytes
    }

    /// One node reading `inputs` (graph inputs or constants) and writing `outputs`.
    static func single(_ op: String, inputs: [(String, Int64, [Int])], outputs: [String] = ["y"],
                       constants: [(String, [Int], [Int64])] = [], floatConstants: [(String, [Int], [Float])] = [],
                       attributes: [(String, Attribute)] = [], nodeInputs: [String]? = nil) -> TinyGraph {
        var g = TinyGraph()
        g.inputs = inputs
        g.intConstants = constants
        g.floatConstants = floatConstants
        g.outputs = outputs
        g.nodes = [Node(op: op, inputs: nodeInputs ?? (inputs.map(\.0) + constants.map(\.0) + floatConstants.map(\.0)),
                        outputs: outputs, attributes: attributes)]
        return g
    }
}

@Suite("Planned data-movement operators")
struct DataPlanTests {
    static let float: Int64 = 1, int32: Int64 = 6, int64: Int64 = 7, bool: Int64 = 9

    /// Runs `graph` unplanned once and planned three times (the later runs go through the
    /// plan), checks that a plan was made and that every run gives the same outputs; returns
    /// the planned outputs.
    @discardableResult
    static func check(_ graph: TinyGraph, _ feeds: [String: Tensor], expectPlan: Bool = true,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> [Tensor] {
        let bytes = graph.bytes()
        let reference = try Model(bytes: bytes, modelDirectory: nil,
                                  options: ModelOptions(outputTypes: Model.allOutputTypes, plannedExecution: false)).run(feeds)
        let model = try Model(bytes: bytes, modelDirectory: nil, options: ModelOptions(outputTypes: Model.allOutputTypes, plannedExecution: true))
        var last: [Tensor] = []
        for _ in 0..<3 {
            last = try model.run(feeds)
            #expect(last.count == reference.count, sourceLocation: sourceLocation)
            for (got, want) in zip(last, reference) {
                #expect(got.shape == want.shape, sourceLocation: sourceLocation)
                #expect(got.elementType == want.elementType, sourceLocation: sourceLocation)
                if want.elementType == .float32 {
                    #expect(got.scalars.map(\.bitPattern) == want.scalars.map(\.bitPattern), sourceLocation: sourceLocation)
                } else {
                    #expect(got.storage.int64Values == want.storage.int64Values, sourceLocation: sourceLocation)
                }
            }
        }
        let ordered = model.inputs.map { feeds[$0.name]! }
        let entry = model.graphForTesting.planEntry(for: ordered)
        if expectPlan {
            switch entry {
            case .refused(_, let why)?: Issue.record("not planned: \(why)", sourceLocation: sourceLocation)
            case nil: Issue.record("no plan entry", sourceLocation: sourceLocation)
            case .plan?: break
            }
        } else if case .plan? = entry {
            Issue.record("planned although an input decides the shape", sourceLocation: sourceLocation)
        }
        return last
    }

    static func iota(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) })
    }

    static func iota64(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, int64s: (0..<shape.reduce(1, *)).map { Int64($0) * 3 - 7 })
    }

    @Test func transposeEveryElementTypeAndSizeOneMoves() throws {
        let perm: [(String, TinyGraph.Attribute)] = [("perm", .ints([0, 2, 3, 1]))]
        let y = try Self.check(.single("Transpose", inputs: [("x", Self.float, [2, 3, 4, 5])], attributes: perm), ["x": Self.iota([2, 3, 4, 5])])
        // y[n, h, w, c] = x[n, c, h, w]
        #expect(y[0].shape == [2, 4, 5, 3])
        #expect(y[0].scalars[1] == 20 && y[0].scalars[3] == 1)
        try Self.check(.single("Transpose", inputs: [("x", Self.int64, [3, 4])], attributes: [("perm", .ints([1, 0]))]), ["x": Self.iota64([3, 4])])
        try Self.check(.single("Transpose", inputs: [("x", Self.int32, [3, 4])]), ["x": Tensor(shape: [3, 4], int32s: (0..<12).map { Int32($0) })])
        try Self.check(.single("Transpose", inputs: [("x", Self.bool, [2, 3])]), ["x": Tensor(shape: [2, 3], bools: [true, false, false, true, true, false])])
        // Only size-1 axes move: the plan shares the input's bytes (alias).
        try Self.check(.single("Transpose", inputs: [("x", Self.float, [1, 6, 1])], attributes: [("perm", .ints([2, 1, 0]))]), ["x": Self.iota([1, 6, 1])])
        // Empty tensors.
        try Self.check(.single("Transpose", inputs: [("x", Self.float, [0, 3])]), ["x": Tensor(shape: [0, 3], scalars: [])])
    }

    @Test func sliceStepsNegativeAxesAndEmptyResults() throws {
        let x = Self.iota([4, 6])
        let y = try Self.check(.single("Slice", inputs: [("x", Self.float, [4, 6])],
                                       constants: [("s", [2], [-1, 1]), ("e", [2], [-100, 6]), ("a", [2], [-1, 0]), ("st", [2], [-2, 2])]), ["x": x])
        // Axis 1 (given as -1) from 5 down by 2: 5, 3, 1; axis 0 from 1 by 2: 1, 3.
        #expect(y[0].shape == [2, 3])
        #expect(y[0].scalars == [11, 9, 7, 23, 21, 19])
        try Self.check(.single("Slice", inputs: [("x", Self.int64, [4, 6])], constants: [("s", [1], [1]), ("e", [1], [3])]), ["x": Self.iota64([4, 6])])
        try Self.check(.single("Slice", inputs: [("x", Self.float, [4, 6])], constants: [("s", [1], [3]), ("e", [1], [3])]), ["x": x])
        // The whole tensor: an alias.
        try Self.check(.single("Slice", inputs: [("x", Self.float, [4, 6])], constants: [("s", [1], [0]), ("e", [1], [Int64.max])]), ["x": x])
        // Starts given with the request decide the shape: no plan.
        try Self.check(.single("Slice", inputs: [("x", Self.float, [4, 6]), ("s", Self.int64, [1])], constants: [("e", [1], [3])]),
                       ["x": x, "s": Tensor(shape: [1], int64s: [1])], expectPlan: false)
    }

    @Test func concatWithConstantAndEmptyParts() throws {
        var g = TinyGraph.single("Concat", inputs: [("a", Self.float, [2, 3, 2]), ("b", Self.float, [2, 0, 2])],
                                 floatConstants: [("c", [2, 1, 2], [9, 8, 7, 6])], attributes: [("axis", .int(1))])
        g.nodes[0].inputs = ["a", "c", "b"]
        let y = try Self.check(g, ["a": Self.iota([2, 3, 2]), "b": Tensor(shape: [2, 0, 2], scalars: [])])
        #expect(y[0].shape == [2, 4, 2])
        #expect(Array(y[0].scalars[4..<10]) == [4, 5, 9, 8, 6, 7])
        try Self.check(.single("Concat", inputs: [("a", Self.int64, [3, 1]), ("b", Self.int64, [3, 2])], attributes: [("axis", .int(-1))]),
                       ["a": Self.iota64([3, 1]), "b": Self.iota64([3, 2])])
    }

    @Test func gatherChecksRequestIndicesOnEveryRun() throws {
        let g = TinyGraph.single("Gather", inputs: [("x", Self.float, [3, 4]), ("i", Self.int64, [2])], attributes: [("axis", .int(1))])
        let y = try Self.check(g, ["x": Self.iota([3, 4]), "i": Tensor(shape: [2], int64s: [-1, 0])])
        #expect(y[0].scalars == [3, 0, 7, 4, 11, 8])
        let model = try Model(bytes: g.bytes(), modelDirectory: nil, options: ModelOptions(outputTypes: Model.allOutputTypes))
        _ = try model.run(["x": Self.iota([3, 4]), "i": Tensor(shape: [2], int64s: [0, 1])])
        // Same shapes, so this run goes through the plan, with an index past the axis.
        #expect(throws: InferenceError.invalidInput("node 'n0' (Gather): index 4 is out of range for axis 1 of size 4")) {
            try model.run(["x": Self.iota([3, 4]), "i": Tensor(shape: [2], int64s: [1, 4])])
        }
        #expect(throws: InferenceError.self) { try model.run(["x": Self.iota([3, 4]), "i": Tensor(shape: [2], int64s: [-5, 0])]) }
        // int32 indices, a scalar index, int64 data.
        try Self.check(.single("Gather", inputs: [("x", Self.int64, [5, 2]), ("i", Self.int32, [2, 2])]),
                       ["x": Self.iota64([5, 2]), "i": Tensor(shape: [2, 2], int32s: [4, 0, -2, 1])])
        try Self.check(.single("Gather", inputs: [("x", Self.float, [5, 3])], constants: [("i", [], [2])]), ["x": Self.iota([5, 3])])
    }

    @Test func viewsOfTheInputAreAliases() throws {
        var g = TinyGraph()
        g.inputs = [("x", Self.float, [2, 1, 3])]
        g.intConstants = [("ax", [1], [1]), ("ax0", [1], [0]), ("shape", [2], [3, -1])]
        g.nodes = [TinyGraph.Node(op: "Squeeze", inputs: ["x", "ax"], outputs: ["s"]),
                   TinyGraph.Node(op: "Unsqueeze", inputs: ["s", "ax0"], outputs: ["u"]),
                   TinyGraph.Node(op: "Flatten", inputs: ["u"], outputs: ["f"], attributes: [("axis", .int(2))]),
                   TinyGraph.Node(op: "Reshape", inputs: ["f", "shape"], outputs: ["r"]),
                   TinyGraph.Node(op: "Transpose", inputs: ["r"], outputs: ["y"])]
        g.outputs = ["y"]
        let y = try Self.check(g, ["x": Self.iota([2, 1, 3])])
        #expect(y[0].shape == [2, 3])
        #expect(y[0].scalars == [0, 2, 4, 1, 3, 5])
    }

    @Test func expandSplitTileAndDepthToSpace() throws {
        let e = try Self.check(.single("Expand", inputs: [("x", Self.float, [3, 1])], constants: [("s", [3], [2, 1, 4])]), ["x": Self.iota([3, 1])])
        #expect(e[0].shape == [2, 3, 4] && e[0].scalars[4..<8] == [1, 1, 1, 1])
        let s = try Self.check(.single("Split", inputs: [("x", Self.int64, [2, 5])], outputs: ["a", "b", "c"], constants: [("k", [3], [1, 0, 4])],
                                       attributes: [("axis", .int(1))]), ["x": Self.iota64([2, 5])])
        #expect(s.map(\.shape) == [[2, 1], [2, 0], [2, 4]])
        try Self.check(.single("Split", inputs: [("x", Self.float, [7, 2])], outputs: ["a", "b"], attributes: [("num_outputs", .int(2))]),
                       ["x": Self.iota([7, 2])])
        let t = try Self.check(.single("Tile", inputs: [("x", Self.bool, [2, 1])], constants: [("r", [2], [2, 3])]),
                               ["x": Tensor(shape: [2, 1], bools: [true, false])])
        #expect(t[0].shape == [4, 3] && t[0].storage.int64Values == [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0])
        for mode in ["DCR", "CRD"] {
            try Self.check(.single("DepthToSpace", inputs: [("x", Self.float, [1, 8, 2, 3])], attributes: [("blocksize", .int(2)), ("mode", .string(mode))]),
                           ["x": Self.iota([1, 8, 2, 3])])
        }
        try Self.check(.single("SpaceToDepth", inputs: [("x", Self.float, [2, 2, 4, 6])], attributes: [("blocksize", .int(2))]), ["x": Self.iota([2, 2, 4, 6])])
    }

    @Test func padModesAndARequestConstantValue() throws {
        let x = Self.iota([2, 3])
        for mode in ["constant", "reflect", "edge", "wrap"] {
            try Self.check(.single("Pad", inputs: [("x", Self.float, [2, 3])], constants: [("p", [4], [1, 2, 1, 2])], attributes: [("mode", .string(mode))]),
                           ["x": x])
        }
        // Negative pads crop; the constant value comes with the request.
        let g = TinyGraph.single("Pad", inputs: [("x", Self.float, [2, 3]), ("v", Self.float, [])], constants: [("p", [4], [0, -1, 1, 2])],
                                 nodeInputs: ["x", "p", "v"])
        let y = try Self.check(g, ["x": x, "v": Tensor(shape: [], scalars: [-1])])
        #expect(y[0].shape == [3, 4])
        #expect(y[0].scalars == [1, 2, -1, -1, 4, 5, -1, -1, -1, -1, -1, -1])
        let model = try Model(bytes: g.bytes(), modelDirectory: nil, options: ModelOptions(outputTypes: Model.allOutputTypes))
        _ = try model.run(["x": x, "v": Tensor(shape: [], scalars: [-1])])
        #expect(try model.run(["x": x, "v": Tensor(shape: [], scalars: [7])])[0].scalars.last == 7)
        // Pads along chosen axes, int64 data.
        try Self.check(.single("Pad", inputs: [("x", Self.int64, [2, 3, 2])], constants: [("p", [2], [2, 1]), ("a", [1], [-2])],
                               nodeInputs: ["x", "p", "", "a"]), ["x": Self.iota64([2, 3, 2])])
    }

    @Test func triluAndTheComputeKernels() throws {
        for upper: Int64 in [0, 1] {
            try Self.check(.single("Trilu", inputs: [("x", Self.float, [2, 3, 4])], constants: [("k", [], [-1])], attributes: [("upper", .int(upper))]),
                           ["x": Self.iota([2, 3, 4])])
        }
        let x = Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float(($0 * 7) % 11) - 5 })
        for op in ["ArgMax", "ArgMin"] {
            try Self.check(.single(op, inputs: [("x", Self.float, [2, 3, 4])], attributes: [("axis", .int(1)), ("select_last_index", .int(1))]), ["x": x])
        }
        try Self.check(.single("ArgMax", inputs: [("x", Self.int64, [3, 4])], attributes: [("keepdims", .int(0))]), ["x": Self.iota64([3, 4])])
        try Self.check(.single("CumSum", inputs: [("x", Self.float, [2, 3, 4])], constants: [("a", [], [-2])],
                               attributes: [("exclusive", .int(1)), ("reverse", .int(1))]), ["x": x])
        try Self.check(.single("CumSum", inputs: [("x", Self.int32, [5])], constants: [("a", [], [0])]),
                       ["x": Tensor(shape: [5], int32s: [1, 2, 3, 4, 5])])
        try Self.check(.single("LogSoftmax", inputs: [("x", Self.float, [2, 3, 4])], attributes: [("axis", .int(1))]), ["x": x])
        try Self.check(.single("Hardmax", inputs: [("x", Self.float, [2, 3, 4])], attributes: [("axis", .int(-1))]), ["x": x])
        try Self.check(.single("PRelu", inputs: [("x", Self.float, [2, 3, 4])], floatConstants: [("s", [3, 1], [0.5, -1, 2])]), ["x": x])
        try Self.check(.single("IsNaN", inputs: [("x", Self.float, [3])]), ["x": Tensor(shape: [3], scalars: [1, .nan, -.infinity])])
        try Self.check(.single("IsInf", inputs: [("x", Self.float, [3])], attributes: [("detect_positive", .int(0))]),
                       ["x": Tensor(shape: [3], scalars: [.infinity, .nan, -.infinity])])
        try Self.check(.single("EyeLike", inputs: [("x", Self.float, [3, 4])], attributes: [("k", .int(1))]), ["x": Self.iota([3, 4])])
        let ge = TinyGraph.single("GatherElements", inputs: [("x", Self.float, [3, 3]), ("i", Self.int64, [2, 3])], attributes: [("axis", .int(0))])
        let y = try Self.check(ge, ["x": Self.iota([3, 3]), "i": Tensor(shape: [2, 3], int64s: [1, 2, 0, -1, 0, 0])])
        #expect(y[0].scalars == [3, 7, 2, 6, 1, 2])
        let model = try Model(bytes: ge.bytes(), modelDirectory: nil, options: ModelOptions(outputTypes: Model.allOutputTypes))
        _ = try model.run(["x": Self.iota([3, 3]), "i": Tensor(shape: [2, 3], int64s: [0, 0, 0, 0, 0, 0])])
        #expect(throws: InferenceError.self) { try model.run(["x": Self.iota([3, 3]), "i": Tensor(shape: [2, 3], int64s: [0, 0, 3, 0, 0, 0])]) }
    }
}
