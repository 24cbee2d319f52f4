import Foundation
import InferenceEngine

/// A model's `config.json`: how the repository should serve it.
///
/// Unknown keys are rejected rather than ignored, so a typo in a setting a user relies on
/// fails loudly at load instead of silently doing nothing.
struct ModelConfig: Sendable, Equatable {
    /// Model format; only "onnx" exists today.
    var platform = "onnx"
    /// Human-readable summary shown by tools.
    var description = ""
    /// Largest batch the model runs (0 = requests are never combined).
    var maxBatchSize = 0
    /// Batches (or single requests) of this model that may run at once; nil = one per core
    /// for unbatched models, 1 for batched ones.
    var instanceCount: Int?
    /// The `dynamic_batching` section; present means requests are queued and batched.
    var dynamicBatching: DynamicBatching?
    /// The `sequence_batching` section: state the server keeps between a sequence's requests.
    var sequenceBatching: SequenceStore.Settings?
    /// Graph optimizer level (`"none"`, `"basic"`, `"all"`; default all).
    var optimization: OptimizationLevel = .all
    /// Threads one inference may use inside an operator (default 1: cores go to concurrent
    /// requests and batches first).
    var intraOpThreads = 1
    /// The `access` section: who may call the model; nil when the section is absent (the
    /// server's default applies).
    var access: AccessPolicy?

    /// The engine options this config asks for.
    var engineOptions: ModelOptions {
        ModelOptions(outputTypes: Model.allOutputTypes, optimization: optimization, intraOpThreads: intraOpThreads)
    }

    /// Triton's vocabulary, so that existing configs translate line by line.
    struct DynamicBatching: Sendable, Equatable {
        var maxQueueDelayMicroseconds: UInt64 = 0
        var preferredBatchSizes: [Int] = []
        var maxQueueSize = 1024
        var priorityLevels = 1
        var defaultPriority = 1
        var defaultTimeoutMicroseconds: UInt64 = 0
        /// Lets variable-length requests share a batch (padded, with a mask).
        var padding: BatchingPolicy.Padding?

        static let knownKeys: Set<String> = [
            "max_queue_delay_us", "preferred_batch_sizes", "max_queue_size", "priority_levels",
            "default_priority", "default_timeout_us", "padding",
        ]
    }

    static let knownKeys: Set<String> = [
        "platform", "description", "inputs_doc", "outputs_doc", "max_batch_size", "instance_count", "dynamic_batching",
        "sequence_batching", "optimization", "intra_op_threads", "access",
    ]
    static let maxFileSize = 1 << 20

    init() {}

    init(contentsOf path: String) throws(ModelRepositoryError) {
        try self.init(object: try Self.jsonObject(contentsOf: path), path: path)
    }

    /// The file's top-level JSON object, before any setting is interpreted.
    static func jsonObject(contentsOf path: String) throws(ModelRepositoryError) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelRepositoryError("cannot read \(path)")
        }
        guard data.count <= Self.maxFileSize else { throw ModelRepositoryError("\(path) is larger than 1 MiB") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelRepositoryError("\(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let dictionary = object as? [String: Any] else { throw ModelRepositoryError("\(path) must hold a JSON object") }
        return dictionary
    }

    /// Interprets a config file's object; `path` names the file in messages.
    init(object dictionary: [String: Any], path: String) throws(ModelRepositoryError) {
        // First, so that a repository can still apply a valid policy when a later setting fails.
        if let section = dictionary["access"] { access = try AccessPolicy(section: section, context: path) }
        let unknown = Set(dictionary.keys).subtracting(Self.knownKeys)
        guard unknown.isEmpty else {
            throw ModelRepositoryError("\(path): unknown setting(s) \(unknown.sorted().joined(separator: ", "))")
        }
        if let platform = dictionary["platform"] {
            guard let platform = platform as? String, platform == "onnx" else {
                throw ModelRepositoryError("\(path): platform must be \"onnx\"")
            }
            self.platform = platform
        }
        if let description = dictionary["description"] {
            guard let description = description as? String else { throw ModelRepositoryError("\(path): description must be a string") }
            self.description = description
        }
        maxBatchSize = try Self.integer(dictionary, "max_batch_size", path, range: 0...65536) ?? 0
        if let level = dictionary["optimization"] {
            guard let name = level as? String, let parsed = OptimizationLevel(rawValue: name) else {
                throw ModelRepositoryError("\(path): optimization must be one of \(OptimizationLevel.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            optimization = parsed
        }
        intraOpThreads = try Self.integer(dictionary, "intra_op_threads", path, range: 1...256) ?? 1
        instanceCount = try Self.integer(dictionary, "instance_count", path, range: 1...256)
        if let section = dictionary["dynamic_batching"] {
            guard let section = section as? [String: Any] else { throw ModelRepositoryError("\(path): dynamic_batching must be an object") }
            let unknown = Set(section.keys).subtracting(DynamicBatching.knownKeys)
            guard unknown.isEmpty else {
                throw ModelRepositoryError("\(path): unknown dynamic_batching setting(s) \(unknown.sorted().joined(separator: ", "))")
            }
            var batching = DynamicBatching()
            let context = path + " dynamic_batching"
            if let delay = try Self.integer(section, "max_queue_delay_us", context, range: 0...10_000_000) { batching.maxQueueDelayMicroseconds = UInt64(delay) }
            if let sizes = section["preferred_batch_sizes"] {
                guard let sizes = sizes as? [Any], sizes.count <= 64,
                      sizes.allSatisfy({ ($0 as? NSNumber).map { !Self.isBoolean($0) && $0.intValue >= 1 && Double($0.intValue) == $0.doubleValue } ?? false }) else {
                    throw ModelRepositoryError("\(context): preferred_batch_sizes must be a list of positive integers")
                }
                batching.preferredBatchSizes = sizes.map { ($0 as! NSNumber).intValue }
            }
            if let size = try Self.integer(section, "max_queue_size", context, range: 1...1_000_000) { batching.maxQueueSize = size }
            if let levels = try Self.integer(section, "priority_levels", context, range: 1...16) { batching.priorityLevels = levels }
            if let level = try Self.integer(section, "default_priority", context, range: 1...16) { batching.defaultPriority = level }
            if let timeout = try Self.integer(section, "default_timeout_us", context, range: 0...3_600_000_000) { batching.defaultTimeoutMicroseconds = UInt64(timeout) }
            if let padding = section["padding"] {
                guard let padding = padding as? [String: Any], let dimension = padding["dimension"] as? String,
                      Set(padding.keys).isSubset(of: ["dimension", "mask_input"]),
                      padding["mask_input"] == nil || padding["mask_input"] is String else {
                    throw ModelRepositoryError("\(context): padding must be {\"dimension\": NAME, \"mask_input\": NAME (optional)}")
                }
                batching.padding = BatchingPolicy.Padding(dimension: dimension, maskInput: padding["mask_input"] as? String)
            }
            guard maxBatchSize >= 1 else {
                throw ModelRepositoryError("\(path): dynamic_batching needs max_batch_size >= 1")
            }
            dynamicBatching = batching
        }
        if let section = dictionary["sequence_batching"] {
            let context = path + " sequence_batching"
            guard let section = section as? [String: Any] else { throw ModelRepositoryError("\(context) must be an object") }
            let unknown = Set(section.keys).subtracting(["state", "max_idle_us", "max_sequences"])
            guard unknown.isEmpty else { throw ModelRepositoryError("\(context): unknown setting(s) \(unknown.sorted().joined(separator: ", "))") }
            guard let pairs = section["state"] as? [[String: Any]], !pairs.isEmpty, pairs.count <= 64 else {
                throw ModelRepositoryError("\(context): state must list {\"input\": ..., \"output\": ...} pairs")
            }
            var settings = SequenceStore.Settings(state: [])
            for pair in pairs {
                guard let input = pair["input"] as? String, let output = pair["output"] as? String, pair.count == 2 else {
                    throw ModelRepositoryError("\(context): each state entry needs exactly \"input\" and \"output\" names")
                }
                settings.state.append(SequenceStore.StatePair(input: input, output: output))
            }
            if let idle = try Self.integer(section, "max_idle_us", context, range: 1000...86_400_000_000) {
                settings.maxIdleNanoseconds = UInt64(idle) * 1000
            }
            if let count = try Self.integer(section, "max_sequences", context, range: 1...1_000_000) { settings.maxSequences = count }
            sequenceBatching = settings
        }
    }

    private static func integer(_ dictionary: [String: Any], _ key: String, _ context: String, range: ClosedRange<Int>) throws(ModelRepositoryError) -> Int? {
        guard let value = dictionary[key] else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number), Double(number.intValue) == number.doubleValue,
              range.contains(number.intValue) else {
            throw ModelRepositoryError("\(context): \(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number.intValue
    }

    /// JSON `true`/`false`. `is Bool` cannot tell: on Linux it also holds for the numbers 0 and 1.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// The scheduler policy this config asks for, with `computeThreads` filling in defaults.
    func batchingPolicy(computeThreads: Int) -> BatchingPolicy {
        guard let batching = dynamicBatching else {
            // Unbatched: each request runs alone, inline when the model is idle, and as many
            // at once as there are cores.
            return BatchingPolicy(maxBatchSize: 1, instanceCount: instanceCount ?? computeThreads)
        }
        // max_batch_size 1 keeps the queue (priorities, timeouts, bound) without combining.
        return BatchingPolicy(
            maxBatchSize: maxBatchSize,
            maxQueueDelayNanoseconds: batching.maxQueueDelayMicroseconds * 1000,
            preferredBatchSizes: batching.preferredBatchSizes,
            maxQueueSize: batching.maxQueueSize,
            priorityLevels: batching.priorityLevels,
            defaultPriority: batching.defaultPriority,
            defaultTimeoutNanoseconds: batching.defaultTimeoutMicroseconds * 1000,
            instanceCount: instanceCount ?? 1,
            padding: batching.padding)
    }
}

/// Why a model or the repository could not be loaded.
struct ModelRepositoryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
