import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// Recurrent state kept between the requests of one sequence (a client streaming ticks to an
/// LSTM), so that each request carries only its new step.
///
/// A sequence starts with zeros, is fed its state on every step, stores the step's state
/// outputs, and ends on request or after `maxIdle` without a step. One step at a time per
/// sequence: a step sent while the previous one is in flight would read stale state, so it is
/// refused rather than silently reordered.
final class SequenceStore: Sendable {
    /// A state input and the output that becomes its next value.
    struct StatePair: Sendable, Equatable {
        var input: String
        var output: String
    }

    struct Settings: Sendable, Equatable {
        var state: [StatePair]
        var maxIdleNanoseconds: UInt64 = 60_000_000_000
        var maxSequences = 1024
    }

    /// What a request says about its sequence (metadata `sequence-id`, `sequence-start`,
    /// `sequence-end`).
    struct Step: Sendable {
        let id: UInt64
        let start: Bool
        let end: Bool
    }

    private struct Entry {
        var state: [String: Tensor]
        var lastUsed: UInt64
        var busy: Bool
    }

    let settings: Settings
    /// Zero state for a new sequence, by input name (shapes with a batch of one).
    private let initialState: [String: Tensor]
    private let entries = Locked<[UInt64: Entry]>([:])

    init(settings: Settings, model: Model) throws(ModelRepositoryError) {
        self.settings = settings
        var initial: [String: Tensor] = [:]
        for pair in settings.state {
            guard let input = model.inputs.first(where: { $0.name == pair.input }) else {
                throw ModelRepositoryError("sequence_batching: the model has no input '\(pair.input)'")
            }
            guard model.outputs.contains(where: { $0.name == pair.output }) else {
                throw ModelRepositoryError("sequence_batching: the model has no output '\(pair.output)'")
            }
            guard input.elementType == .float32 else {
                throw ModelRepositoryError("sequence_batching: state '\(pair.input)' must be float32")
            }
            // Every dimension but the (symbolic) batch must be known to make the zero state.
            var shape: [Int] = []
            var batchDimensions = 0
            for dimension in input.dimensions {
                switch dimension {
                case .fixed(let size): shape.append(size)
                case .symbolic: shape.append(1); batchDimensions += 1
                }
            }
            guard batchDimensions == 1 else {
                throw ModelRepositoryError("sequence_batching: state '\(pair.input)' must have exactly one symbolic (batch) dimension")
            }
            initial[pair.input] = Tensor(shape: shape, scalars: Array(repeating: 0, count: shape.reduce(1, *)))
        }
        initialState = initial
    }

    var stateInputs: Set<String> { Set(settings.state.map(\.input)) }
    var stateOutputs: Set<String> { Set(settings.state.map(\.output)) }

    /// Parses the sequence metadata of a request.
    static func step(from metadata: Metadata) throws(Status) -> Step {
        guard let text = metadata["sequence-id"] else {
            throw Status(.invalidArgument, "this model keeps state per sequence: send metadata 'sequence-id' (and 'sequence-start' on the first step)")
        }
        guard let id = UInt64(text), id > 0 else { throw Status(.invalidArgument, "metadata 'sequence-id' must be a positive integer") }
        func flag(_ key: String) throws(Status) -> Bool {
            switch metadata[key] {
            case nil, "0", "false": return false
            case "1", "true": return true
            case let other?: throw Status(.invalidArgument, "metadata '\(key)' must be true or false, got '\(other)'")
            }
        }
        return Step(id: id, start: try flag("sequence-start"), end: try flag("sequence-end"))
    }

    /// Claims the sequence for one step and returns the state to feed.
    func begin(_ step: Step, now: UInt64) throws(Status) -> [String: Tensor] {
        try entries.withLock { (table: inout [UInt64: Entry]) throws(Status) -> [String: Tensor] in
            // Idle sequences expire here rather than on a timer: nothing else needs them.
            table = table.filter { $0.value.busy || now &- $0.value.lastUsed < settings.maxIdleNanoseconds }
            if step.start {
                if let existing = table[step.id], existing.busy {
                    throw Status(.failedPrecondition, "sequence \(step.id) has a step in flight")
                }
                guard table[step.id] != nil || table.count < settings.maxSequences else {
                    throw Status(.resourceExhausted, "\(settings.maxSequences) sequences are already open")
                }
                table[step.id] = Entry(state: initialState, lastUsed: now, busy: true)
                return initialState
            }
            guard var entry = table[step.id] else {
                throw Status(.failedPrecondition, "sequence \(step.id) is not open (never started, ended, or idle longer than \(settings.maxIdleNanoseconds / 1_000_000) ms)")
            }
            guard !entry.busy else { throw Status(.failedPrecondition, "sequence \(step.id) has a step in flight; send steps one at a time") }
            entry.busy = true
            entry.lastUsed = now
            table[step.id] = entry
            return entry.state
        }
    }

    /// Stores the step's state outputs (or keeps the old state if it failed) and releases it.
    func finish(_ step: Step, outputs: [String: Tensor]?, now: UInt64) {
        entries.withLock { table in
            guard var entry = table[step.id] else { return }
            if step.end {
                table[step.id] = nil
                return
            }
            if let outputs {
                for pair in settings.state { if let next = outputs[pair.output] { entry.state[pair.input] = next } }
            }
            entry.busy = false
            entry.lastUsed = now
            table[step.id] = entry
        }
    }
}
