import Foundation
import InferenceEngine

/// `tensorwire model ...`: work on an ONNX file locally, without a server.
enum ModelCommands {
    static let help = """
      model inspect MODEL.onnx [--json]                   inputs, outputs, opset, op histogram, parameters, anything unsupported
      model inspect MODEL.onnx --optimized [--optimize none|basic|all] [--json]
                                                          the nodes that run after the graph optimizer (default level all)
      model run MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR [--optimize none|basic|all]
                                                          run locally; writes DIR/<output>.npy
    \(ModelFlags.help)
    """

    static func run(_ positional: [String], inputs: [(name: String, value: String)], outputDirectory: String?, json: Bool,
                    flags: ModelFlags) throws(CLIError) {
        guard positional.count >= 2 else { throw CLIError("model needs a subcommand and a file\n\(help)") }
        let path = positional[1]
        let subcommand = positional[0]
        let accepted: Set<String> = switch subcommand {
        case "bench": Set(flags.seen)
        case "run": ["--optimize"]
        case "inspect": flags.optimized ? ["--optimized", "--optimize"] : []
        default: []
        }
        if let flag = flags.seen.first(where: { !accepted.contains($0) }) {
            throw CLIError("model \(subcommand) does not take \(flag) (see tensorwire --help)")
        }
        switch subcommand {
        case "inspect" where flags.optimized:
            guard flags.optimizations.count == 1 else { throw CLIError("model inspect takes one --optimize level") }
            try inspectOptimized(path, level: flags.optimizations[0], json: json)
        case "inspect":
            try inspect(path, json: json)
        case "run":
            guard flags.optimizations.count == 1 else { throw CLIError("model run takes one --optimize level") }
            try runLocally(path, inputs: inputs, outputDirectory: outputDirectory, optimization: flags.optimizations[0])
        case "bench":
            try ModelBench.run(path, given: try loadTensors(inputs), flags: flags, json: json)
        default:
            throw CLIError("unknown model subcommand '\(positional[0])'\n\(help)")
        }
    }

    /// The execution plan after the optimizer: what runs, fused nodes named after what they replaced.
    private static func inspectOptimized(_ path: String, level: OptimizationLevel, json: Bool) throws(CLIError) {
        let original: Model, model: Model
        do {
            original = try Model(contentsOf: path, options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: .none))
            model = try Model(contentsOf: path, options: ModelOptions(outputTypes: Model.allOutputTypes, optimization: level))
        } catch {
            throw CLIError("\(path): \(error)", status: "NOT_SERVABLE")
        }
        let plan = model.executionPlan
        var histogram: [String: Int] = [:]
        for node in plan { histogram[node.opType, default: 0] += 1 }
        let perRequest = { (p: [PlannedNode]) in p.filter { !$0.shapeOnly }.count }
        if json {
            let object: [String: Any] = [
                "level": level.rawValue, "passes": model.optimizationReport,
                "nodes_before": original.executionPlan.count, "nodes_after": plan.count,
                "request_nodes_before": perRequest(original.executionPlan), "request_nodes_after": perRequest(plan),
                "operators": histogram,
                "plan": plan.map { ["op": $0.opType, "name": $0.name, "shape_only": $0.shapeOnly] as [String: Any] },
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("model \(path), optimization \(level.rawValue)")
        print("nodes        \(original.executionPlan.count) → \(plan.count) (per request: \(perRequest(original.executionPlan)) → \(perRequest(plan)); the rest is cached per input shape)")
        print("passes       " + (model.optimizationReport.isEmpty ? "none applied"
              : model.optimizationReport.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")))
        print("plan:")
        for node in plan {
            print("  \(node.opType.padding(toLength: 24, withPad: " ", startingAt: 0)) \(node.name)\(node.shapeOnly ? "   [per shape]" : "")")
        }
    }

    private static func inspect(_ path: String, json: Bool) throws(CLIError) {
        let inspection: ModelInspection
        do { inspection = try Model.inspect(contentsOf: path) } catch {
            throw CLIError("\(path): \(error)")
        }
        func describe(_ info: ValueInfo) -> String {
            "\(info.name)\t\(info.elementType)\t[" + info.dimensions.map(\.description).joined(separator: ", ") + "]"
        }
        if json {
            let object: [String: Any] = [
                "inputs": inspection.inputs.map(describe), "outputs": inspection.outputs.map(describe),
                "ir_version": inspection.irVersion, "opset": inspection.opsetVersion as Any, "opset_imports": inspection.opsetImports,
                "producer": "\(inspection.producerName) \(inspection.producerVersion)", "operators": inspection.operatorHistogram,
                "nodes": inspection.nodeCount, "parameters": inspection.parameterCount,
                "external_data": inspection.externalDataLocations,
                "subgraph_operators": inspection.subgraphOperatorHistogram,
                "unsupported": inspection.unsupportedNodes.map { ["op": $0.opType, "node": $0.nodeName, "path": $0.nodePath] },
                "unsupported_attributes": inspection.unsupportedAttributes.map { ["attribute": $0.attribute, "op": $0.opType, "node": $0.nodePath] },
                "problems": inspection.nodeProblems,
                "servable": inspection.isServable, "error": inspection.loadError as Any,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("model \(path)")
            print("producer     \(inspection.producerName) \(inspection.producerVersion), IR \(inspection.irVersion), opset \(inspection.opsetVersion.map(String.init) ?? "-")"
                  + (inspection.opsetImports.count > 1 ? " (imports \(inspection.opsetImports.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "ai.onnx" : $0.key)=\($0.value)" }.joined(separator: ", ")))" : ""))
            print("parameters   \(inspection.parameterCount) in \(inspection.nodeCount) nodes")
            print("inputs:")
            for info in inspection.inputs { print("  " + describe(info)) }
            print("outputs:")
            for info in inspection.outputs { print("  " + describe(info)) }
            // Counts include the nodes inside subgraphs (If branches, Loop/Scan bodies), shown apart.
            let inside = inspection.subgraphOperatorHistogram
            print(inside.isEmpty ? "operators:" : "operators (in subgraphs):")
            for (op, count) in inspection.operatorHistogram.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                print("  \(op.padding(toLength: 28, withPad: " ", startingAt: 0)) \(count)" + (inside[op].map { " (\($0))" } ?? ""))
            }
            if !inspection.externalDataLocations.isEmpty {
                print("external data: \(inspection.externalDataLocations.joined(separator: ", "))")
            }
            for node in inspection.unsupportedNodes { print("UNSUPPORTED  \(node)") }
            for attribute in inspection.unsupportedAttributes { print("UNSUPPORTED  \(attribute)") }
            for problem in inspection.nodeProblems { print("PROBLEM      \(problem)") }
            if let error = inspection.loadError { print("NOT SERVABLE: \(error)") } else { print("servable: yes") }
        }
        if !inspection.isServable { throw CLIError("\(path) cannot be served", status: "NOT_SERVABLE") }
    }

    private static func runLocally(_ path: String, inputs: [(name: String, value: String)], outputDirectory: String?,
                                   optimization: OptimizationLevel) throws(CLIError) {
        guard let outputDirectory else { throw CLIError("model run needs --output-dir DIR") }
        let model: Model
        do { model = try Model(contentsOf: path, options: ModelOptions(optimization: optimization)) } catch { throw CLIError("\(path): \(error)") }
        let feeds = try loadTensors(inputs)
        let outputs: [Tensor]
        do { outputs = try model.run(feeds) } catch { throw CLIError("\(error)", status: "INVALID_ARGUMENT") }
        do { try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(outputDirectory): \(error.localizedDescription)")
        }
        for (info, tensor) in zip(model.outputs, outputs) {
            let file = outputDirectory + "/" + String(info.name.map { $0 == "/" ? "_" : $0 }) + ".npy"
            guard FileManager.default.createFile(atPath: file, contents: Data(tensor.npyBytes())) else {
                throw CLIError("cannot write \(file)")
            }
            print("\(info.name)  \(tensor.elementType) \(tensor.shape) -> \(file)")
        }
    }

    /// `--input NAME=FILE.npy` (or `NAME=@FILE.npy`) values as engine tensors.
    private static func loadTensors(_ inputs: [(name: String, value: String)]) throws(CLIError) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for input in inputs {
            let file = input.value.hasPrefix("@") ? String(input.value.dropFirst()) : input.value
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            do { tensors[input.name] = try Tensor(npy: [UInt8](data)) } catch { throw CLIError("\(file): \(error)") }
        }
        return tensors
    }
}
