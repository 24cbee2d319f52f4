import Foundation
import Testing
@testable import InferenceEngine

/// An official ONNX backend node test (reference outputs computed by ONNX itself).
struct NodeCase: Sendable, CustomStringConvertible {
    var fixture: FixtureCase
    var rtol: Float
    var atol: Float
    var description: String { fixture.name }
}

let nodeCases: [NodeCase] = (loadJSON("Tests/Fixtures/onnx_node/cases.json") as! [[String: Any]]).map {
    NodeCase(fixture: FixtureCase(name: $0["name"] as! String, model: $0["model"] as! String, json: $0),
             rtol: ($0["rtol"] as! NSNumber).floatValue, atol: ($0["atol"] as! NSNumber).floatValue)
}

/// Node tests the engine does not pass, with the reason (each must still fail cleanly: a load
/// error or an invalid-input error, never a crash or a wrong answer passed off as right).
let knownNodeFailures: [String: String] = loadJSON("Tests/Fixtures/onnx_node/known_failures.json") as! [String: String]

/// Runs one node test twice (the second run through the execution plan made from the first,
/// when the graph can be planned); returns nil when both pass, else what went wrong.
func runNodeCase(_ c: NodeCase) -> String? {
    let model: Model
    do { model = try Model(contentsOf: repoPath(c.fixture.model), outputTypes: Model.allOutputTypes) } catch { return "load: \(error.message)" }
    for run in ["first run", "planned run"] {
        let results: [Tensor]
        do { results = try model.run(c.fixture.inputs.mapValues(\.tensor)) } catch { return "run: \(error)" }
        if let problem = compareNodeOutputs(c, model, results) { return "\(run): \(problem)" }
    }
    return nil
}

private func compareNodeOutputs(_ c: NodeCase, _ model: Model, _ results: [Tensor]) -> String? {
    for (name, expected) in c.fixture.outputs {
        guard let index = model.outputs.firstIndex(where: { $0.name == name }) else { return "no output \(name)" }
        let got = results[index]
        if got.shape != expected.shape { return "output \(name) shape \(got.shape) expected \(expected.shape)" }
        if got.elementType != expected.elementType { return "output \(name) type \(got.elementType) expected \(expected.elementType)" }
        if expected.dtype == "float32" {
            let g = got.scalars
            for i in 0..<g.count {
                let e = expected.data[i]
                if g[i] == e || (g[i].isNaN && e.isNaN) { continue }
                // ONNX's own tolerance (rtol 1e-3, atol 1e-7 by default), floored at 1e-6 absolute.
                if !(abs(g[i] - e) <= max(c.rtol, 1e-4) * abs(e) + max(c.atol, 1e-6)) { return "output \(name)[\(i)] = \(g[i]), expected \(e)" }
            }
        } else if got.storage.int64Values != expected.integers {
            return "output \(name) values differ"
        }
    }
    return nil
}

@Suite("Official ONNX backend node tests for the supported operators")
struct ONNXNodeTests {
    @Test("ONNX node test", arguments: nodeCases)
    func nodeTest(_ c: NodeCase) {
        let failure = runNodeCase(c)
        if let known = knownNodeFailures[c.fixture.name] {
            #expect(failure != nil, "\(c.fixture.name) passes now; remove it from known_failures.json (\(known))")
        } else if let failure {
            Issue.record("\(c.fixture.name): \(failure)")
        }
    }
}
