import Foundation
import Testing
@testable import InferenceEngine

/// A model that loads but whose run must fail as invalid input (controlflow/runtime.json).
struct RuntimeRefusalCase: Sendable, CustomStringConvertible {
    var fixture: FixtureCase
    var expect: String
    var description: String { fixture.name }
}

let runtimeRefusalCases: [RuntimeRefusalCase] = (loadJSON("Tests/Fixtures/controlflow/runtime.json") as! [[String: Any]]).map {
    var json = $0
    json["outputs"] = [String: Any]()
    return RuntimeRefusalCase(fixture: FixtureCase(name: $0["name"] as! String, model: $0["model"] as! String, json: json),
                              expect: $0["expect"] as! String)
}

/// If, Loop and Scan beyond the onnxruntime comparisons (which run in FixtureTests and ZooTests):
/// the iteration limit, load-time shapes, inspection of subgraphs.
@Suite("Control flow: If, Loop, Scan")
struct ControlFlowTests {
    func load(_ name: String) throws -> Model {
        try Model(contentsOf: repoPath("Tests/Fixtures/controlflow/\(name).onnx"), outputTypes: Model.allOutputTypes)
    }

    @Test("a loop that does not end stops at the iteration limit", arguments: runtimeRefusalCases)
    func iterationLimit(_ c: RuntimeRefusalCase) throws {
        let model = try Model(contentsOf: repoPath(c.fixture.model), outputTypes: Model.allOutputTypes)
        do {
            _ = try model.run(c.fixture.inputs.mapValues(\.tensor))
            Issue.record("\(c.fixture.name) ran to completion")
        } catch {
            guard case .invalidInput(let message) = error else { Issue.record("not invalid input: \(error)"); return }
            #expect(message.contains(c.expect), "\(message)")
            #expect(message.contains("loop1"), "\(message)")
        }
    }

    @Test func loadTimeShapes() throws {
        typealias D = InferenceEngine.Dimension
        // Branch shapes differ ([2, 3] or [6, 3]): the first dimension is unknown at load.
        #expect(try load("if_branch_shapes_differ").outputs[0].dimensions == [.symbolic("y_dim0"), .fixed(3)])
        // A constant trip count and a condition the body keeps: exactly M rows of scan output.
        let loop = try load("loop_trip_count_opset13")
        #expect(loop.outputs.map(\.dimensions) == [[.symbolic("batch"), .fixed(3)], [.fixed(4), .symbolic("batch"), .fixed(3)]])
        // The carried sequence grows by a row per iteration, so its first dimension is unknown;
        // the row it multiplies keeps its shape, and the invariant weight is a load-time constant.
        let growing = try load("loop_growing_state")
        #expect(growing.outputs[0].dimensions == [.symbolic("seq_dim0"), .fixed(4)])
        #expect(growing.outputs[1].dimensions == [.fixed(1), .fixed(4)])
        #expect(growing.outputs[2].dimensions == [.fixed(4), .fixed(4)])
        // Scan outputs are stacked along the scan inputs' sequence length.
        #expect(try load("scan_running_sum_opset16").outputs[1].dimensions == [.symbolic("seq"), .fixed(2)])
        #expect(try load("scan_axes_directions").outputs.map(\.dimensions) == [[.fixed(3)], [.fixed(3), .fixed(4)], [.fixed(1), .fixed(4)]])
    }

    @Test func subgraphOperatorsAreCounted() throws {
        let gru = try Model(contentsOf: repoPath("Tests/Fixtures/zoo_tf/keras_gru.onnx"))
        #expect(gru.operatorHistogram["Loop"] == 1)
        #expect(gru.subgraphOperatorHistogram["Sigmoid"] == 2)
        #expect(gru.operatorHistogram["Sigmoid"] == 2)
        let info = try Model.inspect(contentsOf: repoPath("Tests/Fixtures/zoo_tf/keras_gru.onnx"))
        #expect(info.isServable)
        #expect(info.operatorHistogram == gru.operatorHistogram)
        #expect(info.subgraphOperatorHistogram == gru.subgraphOperatorHistogram)
        #expect(info.nodeCount == gru.operatorHistogram.values.reduce(0, +))
        #expect(info.nodeCount > info.subgraphOperatorHistogram.values.reduce(0, +))
    }

    @Test func inspectionListsEveryProblemWithItsNode() throws {
        let info = try Model.inspect(contentsOf: repoPath("Tests/Fixtures/controlflow/inspect_many_problems.onnx"))
        #expect(!info.isServable)
        #expect(info.unsupportedNodes == [.init(opType: "Foo", nodeName: "f1"),
                                          .init(opType: "Bar", nodeName: "b1", scope: "Loop 'loop1' > body")])
        #expect(info.unsupportedNodes.map(\.description) == ["unsupported operator 'Foo' (node 'f1')",
                                                             "unsupported operator 'Bar' (node Loop 'loop1' > body > Bar 'b1')"])
        #expect(info.unsupportedAttributes == [.init(attribute: "alpha", opType: "Relu", nodePath: "r1"),
                                               .init(attribute: "beta", opType: "Sigmoid", nodePath: "Loop 'loop1' > body > Sigmoid 's1'")])
        #expect(info.unsupportedAttributes.map(\.description) == ["unsupported attribute 'alpha' of Relu (node 'r1')",
                                                                  "unsupported attribute 'beta' of Sigmoid (node Loop 'loop1' > body > Sigmoid 's1')"])
        #expect(info.nodeProblems.isEmpty, "\(info.nodeProblems)")
        #expect(info.operatorHistogram == ["Relu": 1, "Foo": 1, "Loop": 1, "Sigmoid": 1, "Bar": 1])
        #expect(info.subgraphOperatorHistogram == ["Sigmoid": 1, "Bar": 1])
        #expect(info.nodeCount == 5)
        // A load names both unsupported operators, the one in the body with its path.
        #expect(info.loadError?.contains("unsupported operator 'Bar' (node Loop 'loop1' > body > Bar 'b1')") == true)
    }

    @Test func inspectionReportsOtherNodeProblemsInsideSubgraphs() throws {
        let info = try Model.inspect(contentsOf: repoPath("Tests/Fixtures/controlflow/scan_length_mismatch.onnx"))
        #expect(info.unsupportedNodes.isEmpty && info.unsupportedAttributes.isEmpty)
        #expect(info.nodeProblems == ["Scan (node 'scan1'): scan inputs have different sequence lengths (4 and 3)"])
        let missing = try Model.inspect(contentsOf: repoPath("Tests/Fixtures/controlflow/loop_bad_attribute_in_body.onnx"))
        #expect(missing.unsupportedAttributes == [.init(attribute: "alpha", opType: "Relu", nodePath: "Loop 'loop1' > body > Relu 'r1'")])
    }

    /// The loop-carried weights of the Keras GRU stay constants in the body (they are returned
    /// unchanged), so the body's MatMuls see constant right-hand sides.
    @Test func invariantCarriedValuesStayConstant() throws {
        let gru = try Model(contentsOf: repoPath("Tests/Fixtures/zoo_tf/keras_gru.onnx"))
        let loops = gru.graphForTesting.nodes.compactMap { node -> LoopKernel? in
            if case .kernel(let k) = node.operation { return k as? LoopKernel } else { return nil }
        }
        let loop = try #require(loops.first)
        #expect(loop.body.constants.contains { $0.tensor.shape == [5, 18] })   // the input kernel
        #expect(loop.body.constants.contains { $0.tensor.shape == [6, 18] })   // the recurrent kernel
    }

    @Test func concurrentRunsOfALoopModel() throws {
        let model = try load("loop_with_nested_scan")
        let fixture = try #require(opCases.first { $0.name == "loop_with_nested_scan" })
        let inputs = fixture.inputs.mapValues(\.tensor)
        let expected = try model.run(inputs)
        let mismatches = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<20 {
                guard let got = try? model.run(inputs), zip(got, expected).allSatisfy({ $0.scalars == $1.scalars }) else {
                    mismatches.add(1)
                    continue
                }
            }
        }
        #expect(mismatches.load() == 0)
    }
}

/// A counter safe to bump from `concurrentPerform`.
final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(_ value: Int) { self.value = value }
    func add(_ n: Int) { lock.lock(); value += n; lock.unlock() }
    func load() -> Int { lock.lock(); defer { lock.unlock() }; return value }
}
