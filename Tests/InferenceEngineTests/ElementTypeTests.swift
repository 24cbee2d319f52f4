import Foundation
import Testing
@testable import InferenceEngine

@Suite("Non-float tensors, casts and the shape cache")
struct ElementTypeTests {
    @Test func int64BytesRoundTrip() throws {
        let t = Tensor(shape: [3], int64s: [1, -2, Int64.max])
        #expect(t.elementType == .int64)
        let copy = try t.withUnsafeBytes { raw in
            #expect(raw.count == 24)
            return try Tensor(shape: [3], elementType: .int64, copyingBytes: raw)
        }
        #expect(copy.int64s == [1, -2, Int64.max])
        #expect(copy.int32s == nil && copy.bools == nil)
    }

    @Test func int32AndBoolBytes() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        let t = try bytes.withUnsafeBytes { try Tensor(shape: [2], elementType: .int32, copyingBytes: $0) }
        #expect(t.int32s == [1, -1])
        let mask: [UInt8] = [0, 1, 2, 0]
        let b = try mask.withUnsafeBytes { try Tensor(shape: [2, 2], elementType: .bool, copyingBytes: $0) }
        #expect(b.bools == [false, true, true, false])
        b.withUnsafeBytes { raw in #expect(Array(raw) == [0, 1, 1, 0]) }
        let f = try [UInt8](repeating: 0, count: 8).withUnsafeBytes { try Tensor(shape: [2], elementType: .float32, copyingBytes: $0) }
        #expect(f.scalars == [0, 0])
    }

    @Test func badByteInputsThrow() {
        let bytes = [UInt8](repeating: 0, count: 12)
        bytes.withUnsafeBytes { raw in
            #expect(throws: InferenceError.self) { try Tensor(shape: [2], elementType: .int64, copyingBytes: raw) }
            #expect(throws: InferenceError.self) { try Tensor(shape: [-3], elementType: .int32, copyingBytes: raw) }
            #expect(throws: InferenceError.self) { try Tensor(shape: [12], elementType: .float64, copyingBytes: raw) }
            #expect(throws: InferenceError.self) { try Tensor(shape: [Int.max, 2], elementType: .bool, copyingBytes: raw) }
        }
    }

    @Test func castSemantics() {
        let f = TensorStorage.float32([1.7, -1.7, .nan, 0])
        #expect(f.cast(to: .int64).int64Values == [1, -1, Int64.min, 0])
        #expect(f.cast(to: .bool).int64Values == [1, 1, 1, 0])
        #expect(TensorStorage.int64([70000, -1]).cast(to: .int32).int64Values == [70000, -1])
        #expect(TensorStorage.bool([true, false]).cast(to: .float32).floatValues == [1, 0])
    }

    @Test func int64InputsAreDeclaredAndChecked() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/gather_embedding.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.inputs == [ValueInfo(name: "ids", elementType: .int64, dimensions: [.symbolic("batch"), .symbolic("seq")])])
        #expect(model.outputs[0].elementType == .float32)
        #expect(throws: InferenceError.self) { try model.run(["ids": Tensor(shape: [1, 2], scalars: [0, 1])]) }
        #expect(throws: InferenceError.invalidInput("node 'gather_node' (Gather): index 8 is out of range for axis 0 of size 8")) {
            try model.run(["ids": Tensor(shape: [1, 1], int64s: [8])])
        }
        let out = try model.run(["ids": Tensor(shape: [1, 2], int64s: [1, -8])])
        #expect(out[0].shape == [1, 2, 5])
    }

    @Test func boolOutputsKeepTheirType() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/less_float_bcast.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.outputs[0].elementType == .bool)
        let out = try model.run(["a": Tensor(shape: [2, 3], scalars: [1, 2, 3, 3, 2, 1]), "b": Tensor(shape: [3], scalars: [2, 2, 1])])
        #expect(out[0].bools == [true, false, false, false, false, false])
    }

    @Test func shapeSubgraphIsComputedOncePerInputShape() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/shape_subgraph_reshape.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.graphForTesting.hasShapeOnlyNodes)
        #expect(model.graphForTesting.shapeOnly.filter { $0 }.count == 4)   // Shape, Gather, Unsqueeze, Concat
        for batch in [1, 2, 1, 3, 2, 1] {
            let x = Tensor(shape: [batch, 2, 4], scalars: (0..<(batch * 8)).map(Float.init))
            let y = try model.run(["x": x])[0]
            #expect(y.shape == [batch, 8])
            #expect(y.scalars == x.scalars)
        }
        #expect(model.graphForTesting.shapeCache.count == 3)
    }

    @Test func constantSubgraphsAreFoldedAtLoad() throws {
        // Shape of a constant → Concat → Reshape: all constant, so no node runs per request.
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/squeeze_axes_input.onnx"), outputTypes: Model.allOutputTypes)
        #expect(model.graphForTesting.nodes.count == 1)
    }
}

@Suite("Request-dependent sizes and concurrency with the shape cache")
struct DynamicShapeTests {
    @Test func absurdRequestedShapesAreInvalidInput() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/constantofshape_default.onnx"), outputTypes: Model.allOutputTypes)
        for shape in [[Int64(1) << 40], [1 << 20, 1 << 20], [-1, 2]] {
            #expect(throws: InferenceError.self) {
                try model.run(["s": Tensor(shape: [shape.count], int64s: shape)])
            }
        }
        let expand = try Model(contentsOf: repoPath("Tests/Fixtures/ops/expand_dynamic_shape.onnx"), outputTypes: Model.allOutputTypes)
        #expect(throws: InferenceError.self) {
            try expand.run(["x": Tensor(shape: [1, 3], scalars: [1, 2, 3]), "s": Tensor(shape: [2], int64s: [1 << 40, 1 << 40])])
        }
        let reshape = try Model(contentsOf: repoPath("Tests/Fixtures/ops/reshape_dynamic_shape_input.onnx"), outputTypes: Model.allOutputTypes)
        #expect(throws: InferenceError.self) {
            try reshape.run(["x": Tensor(shape: [2, 3, 4], scalars: [Float](repeating: 0, count: 24)), "s": Tensor(shape: [3], int64s: [5, -1, 3])])
        }
    }

    @Test("concurrent requests with different batch and sequence sizes share the shape cache safely")
    func concurrentVariableShapes() async throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/zoo/encoder_causal_dynamo/model.onnx"), outputTypes: Model.allOutputTypes)
        @Sendable func inputs(_ batch: Int, _ seq: Int) -> [String: Tensor] {
            let x = Tensor(shape: [batch, seq, 16], scalars: (0..<(batch * seq * 16)).map { Float(($0 * 7) % 13) / 13 - 0.5 })
            let mask = Tensor(shape: [batch, seq], bools: (0..<(batch * seq)).map { $0 % seq >= seq - ($0 / seq) })
            return ["x": x, "padding_mask": mask]
        }
        let shapes = [(1, 3), (2, 5), (3, 4), (1, 6)]
        var computed: [[Float]] = []
        for (b, s) in shapes { computed.append(try model.run(inputs(b, s))[0].scalars) }
        let reference = computed
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for t in 0..<6 {
                group.addTask {
                    for i in 0..<20 {
                        let k = (i + t) % shapes.count
                        let out = try model.run(inputs(shapes[k].0, shapes[k].1))[0]
                        if out.scalars != reference[k] || out.shape != [shapes[k].0, shapes[k].1, 16] { return false }
                    }
                    return true
                }
            }
            for try await ok in group { #expect(ok) }
        }
        #expect(model.graphForTesting.shapeCache.count == shapes.count)
    }
}

@Suite("Hostile request sizes")
struct HostileSizeTests {
    @Test func broadcastExplosionIsInvalidInput() throws {
        let model = try Model(contentsOf: repoPath("Tests/Fixtures/ops/add_symbolic_outer.onnx"), outputTypes: Model.allOutputTypes)
        let a = Tensor(shape: [20_000, 1], scalars: [Float](repeating: 1, count: 20_000))
        let b = Tensor(shape: [1, 20_000], scalars: [Float](repeating: 1, count: 20_000))
        #expect(throws: InferenceError.self) { try model.run(["a": a, "b": b]) }
        let ok = try model.run(["a": Tensor(shape: [2, 1], scalars: [1, 2]), "b": Tensor(shape: [1, 3], scalars: [1, 2, 3])])
        #expect(ok[0].shape == [2, 3])
    }
}

@Suite("Output element types are opt-in")
struct OutputTypePolicyTests {
    @Test func defaultInitializersAcceptFloatOutputsOnly() throws {
        let path = repoPath("Tests/Fixtures/zoo_sklearn/logreg_binary.onnx")
        do {
            _ = try Model(contentsOf: path)
            Issue.record("an INT64 output loaded through the float32-only initializer")
        } catch {
            #expect(error.message.contains("graph output 'label' has element type INT64"), "\(error.message)")
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(throws: ModelLoadError.self) { try Model(bytes: bytes, modelDirectory: nil) }
        let model = try Model(bytes: bytes, modelDirectory: nil, outputTypes: Model.allOutputTypes)
        #expect(model.outputs.map(\.elementType) == [.int64, .float32])
        // Float outputs with integer inputs are fine by default.
        _ = try Model(contentsOf: repoPath("Tests/Fixtures/zoo/token_classifier_dynamo/model.onnx"))
        #expect(try Model.inspect(contentsOf: path).isServable)
    }
}
