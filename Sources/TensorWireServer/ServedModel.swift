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
        do {
            scheduler = try BatchScheduler(model: engine, policy: config.batchingPolicy(computeThreads: pool.threadCount), pool: pool)
        } catch {
            throw ModelRepositoryError("scheduling: \(error)")
        }
    }

    func recordOutcome(_ code: StatusCode) {
        outcomes.withLock { $0[code, default: 0] += 1 }
    }

    var outcomeCounts: [StatusCode: UInt64] { outcomes.withLock { $0 } }

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
