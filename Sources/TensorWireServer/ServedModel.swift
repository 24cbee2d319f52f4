import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// One loaded model version: its scheduler, its wire-level signature (computed once at load)
/// and the outcome of every Infer it answered.
final class ServedModel: Sendable {
    let name: String
    let version: UInt64
    let config: ModelConfig
    let engine: Model
    let scheduler: BatchScheduler
    /// Per-sequence state, for models with `sequence_batching`.
    let sequences: SequenceStore?
    let inputSpecs: [TensorSpec]
    let outputSpecs: [TensorSpec]
    /// Infer responses by status code.
    private let outcomes = Locked<[StatusCode: UInt64]>([:])

    init(name: String, version: UInt64, config: ModelConfig, engine: Model, pool: ComputePool) throws(ModelRepositoryError) {
        self.name = name
        self.version = version
        self.config = config
        self.engine = engine
        inputSpecs = try engine.inputs.map(Self.spec)
        outputSpecs = try engine.outputs.map(Self.spec)
        var policy = config.batchingPolicy(computeThreads: pool.threadCount)
        if let settings = config.sequenceBatching {
            sequences = try SequenceStore(settings: settings, model: engine)
            // A state output carries the batch where its input does (exporters name that
            // dimension differently, e.g. 'Concath_dim_1').
            for pair in settings.state {
                if let input = engine.inputs.first(where: { $0.name == pair.input }),
                   let axis = input.dimensions.firstIndex(where: { if case .symbolic = $0 { true } else { false } }) {
                    policy.batchAxes[pair.input] = axis
                    policy.batchAxes[pair.output] = axis
                }
            }
        } else {
            sequences = nil
        }
        do {
            scheduler = try BatchScheduler(model: engine, policy: policy, pool: pool)
        } catch {
            throw ModelRepositoryError("scheduling: \(error)")
        }
    }

    func recordOutcome(_ code: StatusCode) {
        outcomes.withLock { $0[code, default: 0] += 1 }
    }

    /// Everything the Stats method reports for this version.
    var statistics: ModelStatistics {
        let scheduled = scheduler.currentStatistics()
        return ModelStatistics(
            name: name, version: version, outcomes: outcomes.withLock { $0 }, inlineRequests: scheduled.inlineRequests,
            executions: scheduled.batches, batchSizes: scheduled.batchSizes, queueCount: scheduled.queueCount,
            queueNanoseconds: scheduled.queueNanoseconds, computeCount: scheduled.computeCount,
            computeNanoseconds: scheduled.computeNanoseconds, rejectedQueueFull: scheduled.rejectedQueueFull,
            expiredInQueue: scheduled.expiredInQueue, cancelledInQueue: scheduled.cancelledInQueue)
    }

    /// The scheduling policy in effect, for ModelMetadata's `config` (spec §9.5).
    var schedulingDescription: Metadata {
        let policy = scheduler.policy
        let batching = config.dynamicBatching != nil
        var description: Metadata = [
            "max_batch_size": String(config.maxBatchSize),
            "instance_count": String(policy.instanceCount),
            "dynamic_batching": batching ? "on" : "off",
            "optimization": engine.options.optimization.rawValue,
            "intra_op_threads": String(engine.options.intraOpThreads),
        ]
        if batching {
            description.append("max_queue_delay_us", String(policy.maxQueueDelayNanoseconds / 1000))
            if !policy.preferredBatchSizes.isEmpty {
                description.append("preferred_batch_sizes", policy.preferredBatchSizes.map(String.init).joined(separator: ","))
            }
            description.append("max_queue_size", String(policy.maxQueueSize))
            description.append("priority_levels", String(policy.priorityLevels))
            description.append("default_priority", String(policy.defaultPriority))
            description.append("default_timeout_us", String(policy.defaultTimeoutNanoseconds / 1000))
            if let padding = policy.padding {
                description.append("padding_dimension", padding.dimension)
                if let mask = padding.maskInput { description.append("padding_mask_input", mask) }
            }
        }
        if let sequences {
            description.append("sequence_batching", "on")
            description.append("sequence_state", sequences.settings.state.map { "\($0.input)<-\($0.output)" }.joined(separator: ","))
            description.append("sequence_max_idle_us", String(sequences.settings.maxIdleNanoseconds / 1000))
        }
        return description
    }

    private static func spec(_ info: ValueInfo) throws(ModelRepositoryError) -> TensorSpec {
        guard let dataType = TensorDataType(rawValue: UInt8(clamping: info.elementType.onnxDataType)) else {
            throw ModelRepositoryError("'\(info.name)' has element type \(info.elementType), which the protocol cannot carry")
        }
        let shape = info.dimensions.map { dimension -> Int in
            if case .fixed(let size) = dimension { return size }
            return -1
        }
        return TensorSpec(name: info.name, dataType: dataType, shape: shape)
    }
}
