import Foundation
import Testing
@testable import InferenceEngine

/// Mutated operator models and random request shapes/values must be refused with an error,
/// never crash the process: attribute values, dims and int64 inputs come from untrusted files
/// and clients.
@Suite("Operator fuzzing")
struct OperatorFuzzTests {
    /// `TENSORWIRE_FUZZ_ROUNDS=n` runs n times more mutations (with other seeds) for a local soak.
    static let rounds = Int(ProcessInfo.processInfo.environment["TENSORWIRE_FUZZ_ROUNDS"] ?? "") ?? 1

    /// A request for `model` with random sizes for symbolic dimensions and random small values.
    static func randomInputs(_ model: Model, _ rng: inout SplitMix64) -> [String: Tensor] {
        var symbols: [String: Int] = [:]
        var inputs: [String: Tensor] = [:]
        for info in model.inputs {
            let shape = info.dimensions.map { d -> Int in
                switch d {
                case .fixed(let n): return n
                case .symbolic(let s):
                    if let v = symbols[s] { return v }
                    let v = Int(rng.next() % 5)
                    symbols[s] = v
                    return v
                }
            }
            guard let count = ShapeMath.elementCount(shape, limit: 1 << 16) else { continue }
            switch info.elementType {
            case .int64: inputs[info.name] = Tensor(shape: shape, int64s: (0..<count).map { _ in Int64(rng.next() % 21) - 10 })
            case .int32: inputs[info.name] = Tensor(shape: shape, int32s: (0..<count).map { _ in Int32(rng.next() % 21) - 10 })
            case .bool: inputs[info.name] = Tensor(shape: shape, bools: (0..<count).map { _ in rng.next() % 2 == 0 })
            default: inputs[info.name] = Tensor(shape: shape, scalars: (0..<count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 })
            }
        }
        return inputs
    }

    @Test("random requests against every operator fixture never crash")
    func randomRequests() throws {
        var rng = SplitMix64(seed: 7 &+ UInt64(Self.rounds))
        for fixture in opCases {
            let model = try Model(contentsOf: repoPath(fixture.model), outputTypes: Model.allOutputTypes)
            for _ in 0..<(4 * Self.rounds) { _ = try? model.run(Self.randomInputs(model, &rng)) }
        }
    }

    @Test("byte-mutated operator models load or refuse, and run or refuse, without crashing")
    func mutatedModels() throws {
        var rng = SplitMix64(seed: 11 &+ UInt64(Self.rounds))
        var survivors = 0
        for fixture in opCases + nodeCases.map(\.fixture) {
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: repoPath(fixture.model))))
            for _ in 0..<(6 * Self.rounds) {
                var bytes = original
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    bytes[i] = rng.next() % 2 == 0 ? bytes[i] ^ (UInt8(1) << UInt8(rng.next() % 8)) : UInt8(truncatingIfNeeded: rng.next())
                }
                guard let model = try? Model(bytes: bytes, modelDirectory: nil, outputTypes: Model.allOutputTypes) else { continue }
                survivors += 1
                _ = try? model.run(Self.randomInputs(model, &rng))
            }
        }
        #expect(survivors > 100)
    }
}
