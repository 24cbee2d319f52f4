import Foundation
import InferenceEngine
import Testing

/// One model and inputs for the allocation probe.
struct AllocationCase: Sendable, CustomStringConvertible {
    var name: String
    var model: String
    var inputs: [String: Tensor]
    var description: String { name }
}

/// The bundled example models, and one batch > 1 case of every PyTorch zoo model.
let allocationCases: [AllocationCase] = {
    let root = TestEnvironment.repositoryRoot
    var cases = [
        AllocationCase(name: "credit_default", model: "examples/models/credit_default/1/model.onnx",
                       inputs: ["features": Tensor(shape: [16, 10], scalars: (0..<160).map { Float($0 % 7) * 0.25 - 0.5 })]),
        AllocationCase(name: "tick_transformer", model: "examples/models/tick_transformer/1/model.onnx",
                       inputs: ["ticks": Tensor(shape: [4, 32, 8], scalars: (0..<1024).map { Float($0 % 11) * 0.1 - 0.5 })]),
    ]
    // The PyTorch zoo's batch-3 cases and the scikit-learn zoo's batch-5 cases.
    let zoo = [("zoo", "_batch3"), ("zoo_sklearn", "_batch5")].flatMap { directory, suffix in
        let data = FileManager.default.contents(atPath: root + "/Tests/Fixtures/\(directory)/cases.json")!
        return (try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]).filter { ($0["name"] as! String).hasSuffix(suffix) }
    }
    var seen = Set<String>()
    for entry in zoo {
        let model = entry["model"] as! String
        guard seen.insert(model).inserted else { continue }
        var inputs: [String: Tensor] = [:]
        for (name, spec) in entry["inputs"] as! [String: [String: Any]] {
            let shape = spec["shape"] as! [Int]
            let values = (spec["data"] as! [NSNumber])
            switch spec["dtype"] as? String ?? "float32" {
            case "int64": inputs[name] = Tensor(shape: shape, int64s: values.map(\.int64Value))
            case "int32": inputs[name] = Tensor(shape: shape, int32s: values.map(\.int32Value))
            case "bool": inputs[name] = Tensor(shape: shape, bools: values.map(\.boolValue))
            default: inputs[name] = Tensor(shape: shape, scalars: values.map(\.floatValue))
            }
        }
        cases.append(AllocationCase(name: entry["name"] as! String, model: model, inputs: inputs))
    }
    return cases
}()

/// Issue: "steady-state inference allocates nothing". The probe (a release build, as shipped;
/// `make test` builds it) counts every malloc-family call of every thread over repeated runs
/// once the input shapes' execution plan exists.
@Suite("Steady-state inference allocates nothing")
struct SteadyStateAllocationTests {
    static let probe = TestEnvironment.repositoryRoot + "/.build/release/tensorwire-alloc-probe"

    // Serialized: each case blocks a thread on a child process, and running them all at once
    // would starve the async tests of the cooperative pool.
    @Test("a planned model's steady-state runs allocate nothing", .serialized, arguments: allocationCases, [OptimizationLevel.all, .none])
    func steadyState(_ c: AllocationCase, _ level: OptimizationLevel) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.probe),
                     "build the probe first: swift build -c release --product tensorwire-alloc-probe (make test does)")
        let directory = NSTemporaryDirectory() + "tensorwire-alloc-\(getpid())-\(c.name)-\(level)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var arguments = [TestEnvironment.repositoryRoot + "/" + c.model, "--optimize", level.rawValue, "--runs", "30"]
        for (name, tensor) in c.inputs {
            let file = directory + "/\(name).npy"
            try Data(tensor.npyBytes()).write(to: URL(fileURLWithPath: file))
            arguments += ["--input", "\(name)=\(file)"]
        }
        let result = try TestEnvironment.runProgram(Self.probe, arguments)
        try #require(result.status == 0, "probe failed: \(result.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(report["counting_available"] as? Bool == true)
        #expect(report["planned"] as? Bool == true, "\(c) at \(level): \(report["plan"] ?? "?")")
        #expect(report["session_allocations_per_run"] as? Double == 0, "\(c) at \(level): \(report)")
        // Model.run returns fresh tensors: the result array and one buffer per output, nothing more.
        let outputs = try Model(contentsOf: TestEnvironment.repositoryRoot + "/" + c.model, outputTypes: Model.allOutputTypes).outputs.count
        let perRun = try #require(report["model_run_allocations_per_run"] as? Double)
        #expect(perRun <= Double(1 + outputs), "\(c) at \(level): \(report)")
    }
}
