import Foundation
import Testing
@testable import InferenceEngine

/// Repository root, found from this file's path so tests work from any working directory.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/InferenceEngineTests/FixtureSupport.swift
    return url.path
}()

func repoPath(_ relative: String) -> String { repositoryRoot + "/" + relative }

/// Fixture comparison tolerance: |got − expected| ≤ rtol·|expected| + atol.
/// rtol 1e-4 (float32 vs onnxruntime with different summation order / FMA), atol 1e-5 for
/// values near zero (softmax tails, sums that cancel).
let relativeTolerance: Float = 1e-4
let absoluteTolerance: Float = 1e-5

struct FixtureTensor: Sendable {
    var shape: [Int]
    var data: [Float]
    /// `float32` (default), `int64`, `int32` or `bool`.
    var dtype: String
    var integers: [Int64]

    init(_ json: Any) {
        let dict = json as! [String: Any]
        shape = (dict["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        dtype = dict["dtype"] as? String ?? "float32"
        let values = dict["data"] as! [Any]
        // Non-finite floats are stored as the strings "inf", "-inf" and "nan".
        data = values.map { ($0 as? NSNumber)?.floatValue ?? Float($0 as! String)! }
        integers = dtype == "float32" ? [] : values.map { ($0 as! NSNumber).int64Value }
    }

    var tensor: Tensor {
        switch dtype {
        case "int64": Tensor(shape: shape, int64s: integers)
        case "int32": Tensor(shape: shape, int32s: integers.map { Int32($0) })
        case "bool": Tensor(shape: shape, bools: integers.map { $0 != 0 })
        default: Tensor(shape: shape, scalars: data)
        }
    }

    var elementType: ElementType {
        switch dtype {
        case "int64": .int64
        case "int32": .int32
        case "bool": .bool
        default: .float32
        }
    }
}

struct FixtureCase: Sendable, CustomStringConvertible {
    var name: String
    var model: String
    var inputs: [String: FixtureTensor]
    var outputs: [(String, FixtureTensor)]
    var description: String { name }

    init(name: String, model: String, json: [String: Any]) {
        self.name = name
        self.model = model
        inputs = (json["inputs"] as! [String: Any]).mapValues(FixtureTensor.init)
        outputs = (json["outputs"] as! [String: Any]).map { ($0.key, FixtureTensor($0.value)) }
    }
}

func loadJSON(_ relative: String) -> Any {
    let data = try! Data(contentsOf: URL(fileURLWithPath: repoPath(relative)))
    return try! JSONSerialization.jsonObject(with: data)
}

/// Single-operator cases: ops/ and the If/Loop/Scan models of controlflow/.
let opCases: [FixtureCase] = (["Tests/Fixtures/ops/cases.json", "Tests/Fixtures/controlflow/cases.json"].flatMap {
    loadJSON($0) as! [[String: Any]]
}).map {
    FixtureCase(name: $0["name"] as! String, model: $0["model"] as! String, json: $0)
}

let creditCases: [FixtureCase] = {
    let root = loadJSON("Tests/Fixtures/credit_default.json") as! [String: Any]
    let model = root["model"] as! String
    return (root["cases"] as! [[String: Any]]).map { json in
        let batch = ((json["inputs"] as! [String: Any])["features"] as! [String: Any])["shape"] as! [Any]
        return FixtureCase(name: "credit_default_batch\(batch[0])", model: model, json: json)
    }
}()

struct BrokenCase: Sendable, CustomStringConvertible {
    var name: String
    var model: String
    var expect: String
    var description: String { name }
}

let brokenCases: [BrokenCase] = (["Tests/Fixtures/broken/cases.json", "Tests/Fixtures/controlflow/broken.json"].flatMap {
    loadJSON($0) as! [[String: Any]]
}).map {
    BrokenCase(name: $0["name"] as! String, model: $0["model"] as! String, expect: $0["expect"] as! String)
}

/// Runs a fixture case and compares every output against the onnxruntime reference, twice:
/// the first run goes through the general executor and the second through the execution plan
/// made from it (when the graph can be planned).
func check(_ fixture: FixtureCase, model: Model? = nil) throws {
    let model = try model ?? Model(contentsOf: repoPath(fixture.model), outputTypes: Model.allOutputTypes)
    for run in ["first run", "planned run"] {
        try check(fixture, model: model, results: model.run(fixture.inputs.mapValues(\.tensor)), run: run)
    }
}

private func check(_ fixture: FixtureCase, model: Model, results: [Tensor], run: String) throws {
    #expect(results.count == model.outputs.count)
    for (name, expected) in fixture.outputs {
        let index = try #require(model.outputs.firstIndex { $0.name == name }, "no output \(name)")
        let got = results[index]
        #expect(got.shape == expected.shape, "\(fixture.name): output \(name) shape (\(run))")
        #expect(got.elementType == expected.elementType, "\(fixture.name): output \(name) element type (\(run))")
        try #require(got.elementCount == expected.data.count)
        if expected.dtype == "float32" {
            assertClose(got.scalars, expected.data, context: "\(fixture.name)/\(name) (\(run))")
        } else {
            #expect(got.storage.int64Values == expected.integers, "\(fixture.name)/\(name) (\(run))")
        }
    }
}

func assertClose(_ got: [Float], _ expected: [Float], context: String,
                 rtol: Float = relativeTolerance, atol: Float = absoluteTolerance) {
    var worst: (index: Int, error: Float)? = nil
    for i in 0..<expected.count {
        if got[i] == expected[i] || (got[i].isNaN && expected[i].isNaN) { continue }
        let err = abs(got[i] - expected[i])
        if !(err <= rtol * abs(expected[i]) + atol) {
            if worst == nil || err > worst!.error || err.isNaN { worst = (i, err) }
        }
    }
    if let worst {
        Issue.record("\(context): element \(worst.index) is \(got[worst.index]), expected \(expected[worst.index])")
    }
}
