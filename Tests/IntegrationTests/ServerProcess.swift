import Foundation
import Testing

/// A real `tensorwire-server` process on an ephemeral loopback port, stopped on deinit.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// What the server printed up to its "listening on" line (one line per model, with readiness).
    let startupOutput: String
    private let output = Pipe()
    /// The server's stderr, checked at the end: a sanitizer report or a crash fails the test
    /// that ran the server, even though the failure happened in another process.
    private let errorLogPath = NSTemporaryDirectory() + "tensorwire-server-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).log"

    /// Starts the server on the example models and waits for its "listening on" line.
    init(extraArguments: [String] = [], certificates: String = TestEnvironment.certificates,
         models: String = TestEnvironment.repositoryRoot + "/examples/models") throws {
        process.executableURL = URL(fileURLWithPath: TestEnvironment.binary("tensorwire-server"))
        process.arguments = [
            "--models", models, "--port", "0",
            "--cert", certificates + "/server.pem", "--key", certificates + "/server-key.pem",
            "--ca", certificates + "/ca.pem",
        ] + extraArguments
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: errorLogPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errorLogPath)
        try process.run()
        var text = ""
        while true {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // EOF: the server exited
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on") }),
               let portText = line.split(separator: " ").first(where: { $0.contains("127.0.0.1:") })?.split(separator: ":").last,
               let port = Int(portText) {
                self.port = port
                self.startupOutput = text
                return
            }
        }
        process.terminate()
        throw ServerStartError(output: text)
    }

    struct ServerStartError: Error, CustomStringConvertible {
        var output: String
        var description: String { "server did not report a port; output: \(output)" }
    }

    var isRunning: Bool { process.isRunning }

    /// The server's stderr so far (its log: load errors, warnings).
    var errorLog: String { (try? String(contentsOfFile: errorLogPath, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        let log = (try? String(contentsOfFile: errorLogPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: errorLogPath)
        for marker in ["ThreadSanitizer", "AddressSanitizer", "Fatal error", "Crash"] where log.contains(marker) {
            Issue.record("tensorwire-server reported \(marker):\n\(log.suffix(4000))")
        }
    }
}
