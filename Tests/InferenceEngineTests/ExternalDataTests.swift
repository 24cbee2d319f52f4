import Foundation
import Testing
@testable import InferenceEngine

struct ExternalCase: Sendable, CustomStringConvertible {
    var name: String
    var model: String
    var expect: String?
    var description: String { name }
}

let externalCases: [ExternalCase] = (loadJSON("Tests/Fixtures/external/cases.json") as! [[String: Any]]).map {
    ExternalCase(name: $0["name"] as! String, model: $0["model"] as! String, expect: $0["expect"] as? String)
}

@Suite("External data stays inside the model directory")
struct ExternalDataTests {
    @Test("valid external data loads and is used", arguments: externalCases.filter { $0.expect == nil })
    func loads(_ c: ExternalCase) throws {
        let model = try Model(contentsOf: repoPath(c.model), outputTypes: Model.allOutputTypes)
        let y = try model.run(["x": Tensor(shape: [2], scalars: [1, 1])])
        #expect(y[0].scalars == [2.5, -1])
    }

    @Test("hostile or broken external data is refused", arguments: externalCases.filter { $0.expect != nil && $0.name != "symlink_escape" })
    func refused(_ c: ExternalCase) {
        do {
            _ = try Model(contentsOf: repoPath(c.model), outputTypes: Model.allOutputTypes)
            Issue.record("\(c.name) loaded")
        } catch {
            #expect(error.message.contains(c.expect!), "\(c.name): \(error.message)")
            #expect(error.message.contains("initializer 'w'"), "\(c.name): \(error.message)")
        }
    }

    /// A temporary directory with the model in `model/` and a file next to (outside) it.
    func sandbox() throws -> (root: String, model: String) {
        let root = NSTemporaryDirectory() + "tw-ext-\(UUID().uuidString)"
        let dir = root + "/model"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let model = dir + "/model.onnx"
        try FileManager.default.copyItem(atPath: repoPath("Tests/Fixtures/external/symlink_escape.onnx"), toPath: model)
        let weights: [Float] = [1.5, -2]
        try weights.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: root + "/outside.bin"))
        return (root, model)
    }

    @Test func symlinkLeavingTheDirectoryIsRefused() throws {
        let (root, model) = try sandbox()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for target in ["../outside.bin", root + "/outside.bin"] {
            try? FileManager.default.removeItem(atPath: root + "/model/link.bin")
            try FileManager.default.createSymbolicLink(atPath: root + "/model/link.bin", withDestinationPath: target)
            do {
                _ = try Model(contentsOf: model, outputTypes: Model.allOutputTypes)
                Issue.record("symlink to \(target) was followed")
            } catch {
                #expect(error.message.contains("resolves outside the model directory"), "\(error.message)")
            }
        }
    }

    @Test func symlinkInsideTheDirectoryIsFine() throws {
        let (root, model) = try sandbox()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.moveItem(atPath: root + "/outside.bin", toPath: root + "/model/real.bin")
        try FileManager.default.createSymbolicLink(atPath: root + "/model/link.bin", withDestinationPath: "real.bin")
        let y = try Model(contentsOf: model, outputTypes: Model.allOutputTypes).run(["x": Tensor(shape: [2], scalars: [0, 0])])
        #expect(y[0].scalars == [1.5, -2])
    }

    @Test func bytesWithoutDirectoryRefuseExternalData() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: repoPath("Tests/Fixtures/external/ok.onnx"))))
        do {
            _ = try Model(bytes: bytes, modelDirectory: nil)
            Issue.record("loaded without a directory")
        } catch {
            #expect(error.message.contains("needs the model's directory"), "\(error.message)")
        }
        let model = try Model(bytes: bytes, modelDirectory: repoPath("Tests/Fixtures/external"))
        #expect(try model.run(["x": Tensor(shape: [2], scalars: [0, 0])])[0].scalars == [1.5, -2])
    }
}
