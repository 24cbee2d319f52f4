#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TensorWireClient
import TensorWireProtocol

let usage = """
usage: tensorwire COMMAND [options]

commands:
  list                              models on the server, their versions and readiness
  metadata MODEL [--version N]      a model's inputs and outputs
  health [--model MODEL]            server live/ready, or whether MODEL is ready
  server-info                       server name, version and protocol version
  stats [--model MODEL]             per-model requests, failures, batch sizes, queue and compute time
  infer MODEL --input NAME=VALUE... run a model and print its outputs
      VALUE is JSON ([[1.0, 2.0]] or {"shape": [1, 2], "data": [1, 2]}) or @FILE.npy
      --version N    --output NAME (repeatable)    --output-dir DIR (writes NAME.npy)    --json
\(ModelCommands.help)

\(ConnectionOptions.help)
"""

func run(_ words: [String]) throws(CLIError) {
    var arguments = ArgumentList(words)
    guard let command = arguments.next() else { throw CLIError("no command\n\(usage)") }
    if command == "-h" || command == "--help" || command == "help" {
        print(usage)
        return
    }
    var connection = ConnectionOptions()
    var modelFlags = ModelFlags()
    var positional: [String] = []
    var inputs: [(name: String, value: String)] = []
    var outputs: [String] = []
    var outputDirectory: String?
    var version: UInt64 = 0
    var model: String?
    var json = false
    while let word = arguments.next() {
        if try connection.consume(word, from: &arguments) { continue }
        if try modelFlags.consume(word, from: &arguments) { continue }
        switch word {
        case "--version": version = UInt64(try arguments.integer(for: word))
        case "--model": model = try arguments.value(for: word)
        case "--output": outputs.append(try arguments.value(for: word))
        case "--output-dir": outputDirectory = try arguments.value(for: word)
        case "--json": json = true
        case "--input":
            let spec = try arguments.value(for: word)
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                throw CLIError("--input needs NAME=JSON or NAME=@file.npy, got '\(spec)'")
            }
            inputs.append((String(spec[..<equals]), String(spec[spec.index(after: equals)...])))
        default:
            if word.hasPrefix("-") { throw CLIError("unknown option '\(word)'\n\(usage)") }
            positional.append(word)
        }
    }

    func call<T>(_ body: (TensorWireClient) throws(RPCError) -> T) throws(CLIError) -> T {
        let client = try connection.connect()
        defer { client.close() }
        do { return try body(client) } catch { throw CLIError("\(error)", status: error.code.name) }
    }

    if command != "model", let flag = modelFlags.seen.first { throw CLIError("\(command) does not take \(flag) (it is a `model run|bench` option)") }
    switch command {
    case "model":
        try ModelCommands.run(positional, inputs: inputs, outputDirectory: outputDirectory, json: json, flags: modelFlags)
    case "list":
        let models = try call { client throws(RPCError) in try client.listModels() }
        if models.isEmpty { print("(no models)") }
        for entry in models {
            let versions = entry.versions.map(String.init).joined(separator: ",")
            print("\(entry.name)\tversions [\(versions)]\t\(entry.ready ? "READY" : "NOT READY")")
        }
    case "metadata":
        guard let name = positional.first else { throw CLIError("metadata needs a MODEL") }
        let metadata = try call { client throws(RPCError) in try client.modelMetadata(model: name, version: version) }
        print("model \(metadata.name) (\(metadata.platform)), versions \(metadata.versions.map(String.init).joined(separator: ","))")
        for (title, specs) in [("inputs", metadata.inputs), ("outputs", metadata.outputs)] {
            print("\(title):")
            for spec in specs { print("  \(spec.name)\t\(spec.dataType)\t\(spec.shape)") }
        }
        if !metadata.config.isEmpty {
            print("scheduling:")
            for entry in metadata.config { print("  \(entry.key) = \(entry.value)") }
        }
    case "health":
        let kind: HealthKind = model == nil ? .ready : .modelReady
        let (live, serving) = try call { client throws(RPCError) in
            (try client.health(.live), try client.health(kind, model: model ?? "", version: version))
        }
        let subject = model.map { "model \($0)" } ?? "server"
        print("live: \(live ? "yes" : "no")\n\(subject) ready: \(serving ? "yes" : "no")")
        if !serving { throw CLIError("\(subject) is not ready", status: "NOT_SERVING") }
    case "stats":
        let models = try call { client throws(RPCError) in try client.stats(model: model ?? "") }
        for entry in models { print(StatsText.render(entry)) }
    case "server-info":
        let info = try call { client throws(RPCError) in try client.serverInfo() }
        print("\(info.name) \(info.version), protocol v\(info.protocolVersion), extensions: \(info.extensions.joined(separator: ", "))")
    case "infer":
        guard let name = positional.first else { throw CLIError("infer needs a MODEL") }
        guard !inputs.isEmpty else { throw CLIError("infer needs at least one --input NAME=VALUE") }
        let result = try call { client throws(RPCError) -> InferResult in
            // Metadata tells the JSON parser which datatype each input has.
            let metadata = try client.modelMetadata(model: name, version: version)
            var tensors: [WireTensor] = []
            for input in inputs {
                let dataType = metadata.inputs.first { $0.name == input.name }?.dataType ?? .float32
                do throws(CLIError) { tensors.append(try loadInput(name: input.name, value: input.value, dataType: dataType)) } catch {
                    throw RPCError(code: .invalidArgument, message: error.description)
                }
            }
            return try client.infer(model: name, version: version, inputs: tensors, outputs: outputs)
        }
        try printResult(result, json: json)
        if let outputDirectory { try writeOutputs(result, to: outputDirectory) }
    default:
        throw CLIError("unknown command '\(command)'\n\(usage)")
    }
}

func loadInput(name: String, value: String, dataType: TensorDataType) throws(CLIError) -> WireTensor {
    guard value.hasPrefix("@") else { return try TensorText.parse(json: value, name: name, dataType: dataType) }
    let path = String(value.dropFirst())
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    if path.hasSuffix(".json") { return try TensorText.parse(json: String(decoding: data, as: UTF8.self), name: name, dataType: dataType) }
    do { return try NPYFormat.decode([UInt8](data), name: name) } catch { throw CLIError("\(path): \(error)") }
}

func printResult(_ result: InferResult, json: Bool) throws(CLIError) {
    if json {
        let fields = result.outputs.map { tensor in
            "\"\(tensor.name)\": {\"datatype\": \"\(tensor.dataType)\", \"shape\": \(tensor.shape), \"data\": \(TensorText.render(tensor))}"
        }
        print("{" + fields.joined(separator: ", ") + "}")
        return
    }
    print("model \(result.modelName) version \(result.modelVersion)")
    for tensor in result.outputs {
        print("\(tensor.name)  \(tensor.dataType) \(tensor.shape)")
        print("  \(TensorText.render(tensor))")
    }
}

func writeOutputs(_ result: InferResult, to directory: String) throws(CLIError) {
    do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
        throw CLIError("cannot create \(directory): \(error.localizedDescription)")
    }
    for tensor in result.outputs {
        let path = directory + "/" + String(tensor.name.map { $0 == "/" ? "_" : $0 }) + ".npy"
        guard FileManager.default.createFile(atPath: path, contents: Data(NPYFormat.encode(tensor))) else {
            throw CLIError("cannot write \(path)")
        }
    }
}

signal(SIGPIPE, SIG_IGN)
do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("tensorwire: error: \(error.description)\n".utf8))
    exit(error.status == nil ? 2 : 1)
}
