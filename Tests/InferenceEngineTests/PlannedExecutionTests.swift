import Foundation
import Testing
@testable import InferenceEngine

@Suite("Per-shape execution plans")
struct PlannedExecutionTests {
    static func load(_ path: String, _ level: OptimizationLevel, planned: Bool) throws -> Model {
        try Model(contentsOf: repoPath(path),
                  options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: level, plannedExecution: planned))
    }

    /// The planned runs (from the second request of a shape on) give what the general executor
    /// gives, at every optimization level, and still match onnxruntime.
    @Test("planned runs agree with the general executor on the whole fixture zoo", arguments: zooCases)
    func plannedAgrees(_ zoo: ZooCase) throws {
        let inputs = zoo.fixture.inputs.mapValues(\.tensor)
        for level in [OptimizationLevel.none, .all] {
            let reference = try Self.load(zoo.fixture.model, level, planned: false).run(inputs)
            let model = try Self.load(zoo.fixture.model, level, planned: true)
            let ordered = model.inputs.map { inputs[$0.name]! }
            for run in 0..<3 {
                let results = try model.run(inputs)
                #expect(results.count == reference.count)
                for (got, expected) in zip(results, reference) {
                    #expect(got.shape == expected.shape, "\(zoo) at \(level), run \(run)")
                    #expect(got.elementType == expected.elementType, "\(zoo) at \(level), run \(run)")
                    if expected.elementType == .float32 {
                        assertClose(got.scalars, expected.scalars, context: "\(zoo) at \(level), run \(run)", rtol: zoo.rtol, atol: zoo.atol)
                    } else {
                        #expect(got.storage.int64Values == expected.storage.int64Values, "\(zoo) at \(level), run \(run)")
                    }
                }
            }
            if case .refused(_, let why)? = model.graphForTesting.planEntry(for: ordered) {
                print("PLAN-REFUSED \(zoo) \(level): \(why)")
            }
        }
    }
}
