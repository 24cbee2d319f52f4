import Foundation

/// A throw-away model repository holding one model (the credit model unless told otherwise)
/// under a given config.json.
struct ModelRepositoryFixture {
    let root: String

    init(config: String, name: String = "credit_default",
         modelFile: String = TestEnvironment.repositoryRoot + "/examples/models/credit_default/1/model.onnx") throws {
        root = NSTemporaryDirectory() + "tensorwire-repo-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let version = root + "/\(name)/1"
        try FileManager.default.createDirectory(atPath: version, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: modelFile, toPath: version + "/model.onnx")
        // External weights (the dynamo exporter writes model.onnx.data next to the model).
        if FileManager.default.fileExists(atPath: modelFile + ".data") {
            try FileManager.default.copyItem(atPath: modelFile + ".data", toPath: version + "/model.onnx.data")
        }
        try config.write(toFile: root + "/\(name)/config.json", atomically: true, encoding: .utf8)
    }

    /// Several copies of one model, each under its own name and config.json.
    init(configs: [String: String],
         modelFile: String = TestEnvironment.repositoryRoot + "/examples/models/credit_default/1/model.onnx") throws {
        root = NSTemporaryDirectory() + "tensorwire-repo-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        for (name, config) in configs {
            let version = root + "/\(name)/1"
            try FileManager.default.createDirectory(atPath: version, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: modelFile, toPath: version + "/model.onnx")
            try config.write(toFile: root + "/\(name)/config.json", atomically: true, encoding: .utf8)
        }
    }
}
