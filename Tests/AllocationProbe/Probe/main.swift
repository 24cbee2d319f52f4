// tensorwire-alloc-probe: counts the heap allocations of steady-state inference.
//
// Loads a model, feeds it the given .npy inputs a few times (the first run makes the input
// shapes' execution plan), then counts every malloc-family call of every thread over N more
// runs, through an InferenceSession and through Model.run. Prints one JSON object. The
// allocator wrappers that count live in CAllocationCounter, linked only into this program.
import CAllocationCounter
import Foundation
import InferenceEngine

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("tensorwire-alloc-probe: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let path = arguments.first, !path.hasPrefix("-") else {
    fail("usage: tensorwire-alloc-probe MODEL.onnx --input NAME=FILE.npy ... [--optimize none|basic|all] [--threads N] [--runs N]")
}
arguments.removeFirst()
var inputFiles: [String: String] = [:]
var level = OptimizationLevel.all
var threads = 1
var runs = 100
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { fail("\(flag) needs a value") }
    arguments.removeFirst()
    switch flag {
    case "--input":
        guard let eq = value.firstIndex(of: "=") else { fail("--input wants NAME=FILE.npy") }
        inputFiles[String(value[..<eq])] = String(value[value.index(after: eq)...])
    case "--optimize":
        guard let parsed = OptimizationLevel(rawValue: value) else { fail("unknown level \(value)") }
        level = parsed
    case "--threads":
        guard let n = Int(value), n >= 1 else { fail("bad --threads \(value)") }
        threads = n
    case "--runs":
        guard let n = Int(value), n >= 1 else { fail("bad --runs \(value)") }
        runs = n
    default:
        fail("unknown flag \(flag)")
    }
}

let model: Model
do {
    model = try Model(contentsOf: path, options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: level, intraOpThreads: threads))
} catch {
    fail("\(path): \(error)")
}
var named: [String: Tensor] = [:]
for info in model.inputs {
    guard let file = inputFiles[info.name] else { fail("missing --input \(info.name)=FILE.npy") }
    guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
    do { named[info.name] = try Tensor(npy: [UInt8](data)) } catch { fail("\(file): \(error)") }
}
let inputs = model.inputs.map { named[$0.name]! }

func measure(_ body: () throws -> Void) -> Int {
    tw_allocation_counting_start()
    do { try body() } catch { _ = tw_allocation_counting_stop(); fail("run failed: \(error)") }
    return tw_allocation_counting_stop()
}

let session = InferenceSession(model: model)
do {
    // Warm-up: the first run makes the plan; later ones settle per-thread scratch buffers.
    for _ in 0..<3 { try session.run(inputs) }
    for _ in 0..<3 { _ = try model.run(inputs) }
} catch {
    fail("run failed: \(error)")
}
let sessionAllocations = measure { for _ in 0..<runs { try session.run(inputs) } }
let runAllocations = measure { for _ in 0..<runs { _ = try model.run(inputs) } }

let plan: String
switch model.planStatus(for: named) {
case .planned(let nodes, let arenaBytes): plan = "planned (\(nodes) kernels, \(arenaBytes)-byte arena)"
case .unplanned(let reason): plan = "unplanned: \(reason)"
case .notYetPlanned: plan = "not yet planned"
case .disabled: plan = "disabled"
}
let report: [String: Any] = [
    "model": path,
    "optimization": level.rawValue,
    "threads": threads,
    "runs": runs,
    "counting_available": tw_allocation_counting_available() == 1,
    "planned": { if case .planned = model.planStatus(for: named) { true } else { false } }(),
    "plan": plan,
    "session_allocations_per_run": Double(sessionAllocations) / Double(runs),
    "model_run_allocations_per_run": Double(runAllocations) / Double(runs),
]
let json = try! JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
