import Foundation
import Testing
@testable import LoadGenerator
import TensorWireClient
import TensorWireProtocol

@Suite struct InputSourceTests {
    let metadata = ModelMetadataResponse(
        name: "m", versions: [1], platform: "onnx",
        inputs: [TensorSpec(name: "features", dataType: .float32, shape: [-1, 10]),
                 TensorSpec(name: "ids", dataType: .int64, shape: [-1, -1]),
                 TensorSpec(name: "mask", dataType: .bool, shape: [3])],
        outputs: [TensorSpec(name: "y", dataType: .float32, shape: [-1, 2])])

    @Test func randomInputsFollowTheMetadata() throws {
        let source = try InputSource.random(metadata: metadata, batchSize: 8, shapeOverrides: ["ids": [8, 5]], variants: 4)
        #expect(source.sets.count == 4)
        for set in source.sets {
            #expect(set.map(\.name) == ["features", "ids", "mask"])
            #expect(set[0].shape == [8, 10] && set[0].dataType == .float32)
            #expect(set[0].floats!.allSatisfy { $0 >= 0 && $0 < 1 })
            #expect(set[1].shape == [8, 5] && set[1].data.count == 8 * 5 * 8)
            #expect(set[2].shape == [3] && set[2].data.allSatisfy { $0 <= 1 })
        }
        // Variants differ (a cache could not make every request the same) and are reproducible.
        #expect(source.sets[0][0] != source.sets[1][0])
        let again = try InputSource.random(metadata: metadata, batchSize: 8, shapeOverrides: ["ids": [8, 5]], variants: 4)
        #expect(again.sets[0] == source.sets[0])
        #expect(source.inputs(for: 5) == source.sets[1])
    }

    @Test func variableDimensionsDefaultToBatchThenOne() throws {
        let source = try InputSource.random(metadata: metadata, batchSize: 3, variants: 1)
        #expect(source.sets[0][1].shape == [3, 1])
    }

    @Test func badOverridesAreRefused() {
        #expect(throws: InputSource.InputError.self) {
            try InputSource.random(metadata: metadata, shapeOverrides: ["features": [1, 11]])
        }
        #expect(throws: InputSource.InputError.self) {
            try InputSource.random(metadata: metadata, shapeOverrides: ["features": [1]])
        }
    }

    @Test func npyFilesAreCycled() throws {
        var paths: [String] = []
        for index in 0..<3 {
            let tensor = try WireTensor(name: "features", shape: [1, 2], floats: [Float(index), Float(index) + 0.5])
            let path = LoadGenTestEnvironment.temporaryPath("input-\(index).npy")
            try Data(NPYFormat.encode(tensor)).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let source = try InputSource.npy(files: [(name: "features", paths: paths)])
        #expect(source.sets.count == 3)
        #expect((0..<7).map { source.inputs(for: $0)[0].floats![0] } == [0, 1, 2, 0, 1, 2, 0])
        #expect(source.sets[1][0].name == "features" && source.sets[1][0].shape == [1, 2])
        #expect(throws: InputSource.InputError.self) {
            try InputSource.npy(files: [(name: "features", paths: ["/nonexistent.npy"])])
        }
    }
}
