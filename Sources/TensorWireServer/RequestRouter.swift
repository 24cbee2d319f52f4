import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// A validated Infer, ready to run inline or to queue.
struct InferJob: Sendable {
    let model: ServedModel
    let feeds: [String: Tensor]
    let outputIndices: [Int]
    let priority: Int?
    /// What is left of the request's deadline (0 = none).
    let timeoutNanoseconds: UInt64
    /// The sequence step this request is, for models that keep state per sequence.
    let sequenceStep: SequenceStore.Step?

    /// Records the outcome where it matters beyond the response: a sequence stores its new
    /// state (or keeps the old one) and is free for its next step. Called exactly once per job,
    /// whether the answer is written or the connection is gone.
    func settle(_ result: Result<[Tensor], SchedulingError>) {
        guard let step = sequenceStep, let store = model.sequences else { return }
        var named: [String: Tensor]?
        if case .success(let outputs) = result {
            named = Dictionary(uniqueKeysWithValues: zip(model.outputSpecs.map(\.name), outputs))
        }
        store.finish(step, outputs: named, now: MonotonicClock.nanoseconds())
    }
}

/// What became of a request.
enum RequestDisposition {
    /// The RESPONSE is in the writer.
    case answered
    /// A validated Infer: the session runs it inline or queues it, then answers.
    case infer(InferJob)
}

/// Turns one decoded REQUEST into exactly one RESPONSE frame, whatever happens.
///
/// Handlers throw a ``Status`` for anything a client got wrong (or that the server cannot do);
/// the router turns it into an error response on the same stream, so a bad request never costs
/// the connection, let alone the server.
///
/// Every model-scoped method checks the caller against the model's ``AccessPolicy`` before it
/// looks at anything else of the model; ListModels and Stats show only the models the caller may
/// use, and Health's model-ready answers "not serving" for the others, as for a missing model.
struct RequestRouter: Sendable {
    let repository: ModelRepository
    let limits: MessageLimits
    let serverName: String
    static let serverVersion = "0.1.0"

    /// Writes the response to `request` at the end of `writer`.
    /// - Parameters:
    ///   - receivedAt: Monotonic nanoseconds when the request was decoded; the deadline counts from it.
    ///   - maxResponsePayload: The client's MAX_FRAME_SIZE; larger answers become RESOURCE_EXHAUSTED.
    ///   - caller: Who sent it (resolved at HELLO), for the models' access policies.
    func respond(
        to request: RequestFrame, streamID: UInt32, receivedAt: UInt64, caller: CallerIdentity,
        maxResponsePayload: Int, into writer: inout ByteWriter
    ) -> RequestDisposition {
        let frameStart = writer.count
        do throws(Status) {
            switch request.head.method {
            case MethodName.infer:
                return .infer(try inferJob(request, receivedAt: receivedAt, caller: caller))
            case MethodName.listModels:
                try requireEmptyBody(request)
                let models = repository.entries(visibleTo: caller).map {
                    ModelSummary(name: $0.name, versions: $0.versions.map(\.version), ready: $0.isReady)
                }
                writeOK(streamID: streamID, into: &writer) { w, start in
                    ListModelsResponse(models: models).encode(into: &w, payloadStart: start)
                }
            case MethodName.modelMetadata:
                let query = try ModelMetadataRequest(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
                let model = try repository.resolve(name: query.name, version: query.version, for: caller)
                let versions = repository.entries[model.name]?.versions.map(\.version) ?? [model.version]
                let response = ModelMetadataResponse(
                    name: model.name, versions: versions, platform: model.config.platform,
                    inputs: model.inputSpecs, outputs: model.outputSpecs, config: model.schedulingDescription)
                writeOK(streamID: streamID, into: &writer) { w, start in response.encode(into: &w, payloadStart: start) }
            case MethodName.serverInfo:
                try requireEmptyBody(request)
                let response = ServerInfoResponse(
                    name: serverName, version: Self.serverVersion,
                    protocolVersion: ProtocolVersion.current, extensions: ["health", "model-metadata", "stats", "dynamic-batching"])
                writeOK(streamID: streamID, into: &writer) { w, start in response.encode(into: &w, payloadStart: start) }
            case MethodName.health:
                let query = try HealthRequest(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
                let serving: Bool
                switch query.kind {
                case .live: serving = true
                case .ready: serving = repository.allReady
                case .modelReady:
                    // For a caller the policy excludes the model is not serving, as if absent; a
                    // probe is not a call, so it is not counted as a denial either.
                    if let entry = repository.entries[query.modelName], entry.access.permits(caller) {
                        serving = (try? repository.resolve(name: query.modelName, version: query.modelVersion, for: caller)) != nil
                    } else {
                        serving = false
                    }
                }
                writeOK(streamID: streamID, into: &writer) { w, start in
                    HealthResponse(serving: serving).encode(into: &w, payloadStart: start)
                }
            case MethodName.stats:
                let query = try StatsRequest(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
                let entries: [ModelRepository.Entry]
                if query.modelName.isEmpty {
                    entries = repository.entries(visibleTo: caller)
                } else {
                    guard let entry = repository.entries[query.modelName] else {
                        throw Status(.notFound, "model '\(query.modelName)' is not in the repository")
                    }
                    try ModelRepository.authorize(caller, for: entry)
                    entries = [entry]
                }
                let response = StatsResponse(models: entries.flatMap { $0.versions.map(\.statistics) })
                writeOK(streamID: streamID, into: &writer) { w, start in response.encode(into: &w, payloadStart: start) }
            default:
                throw Status(.unimplemented, "unknown method '\(request.head.method)'")
            }
            if let tooLarge = Self.takeBackOversized(from: frameStart, limit: maxResponsePayload, in: &writer) { throw tooLarge }
        } catch {
            writer.truncate(to: frameStart)
            Self.writeError(error, streamID: streamID, into: &writer)
        }
        return .answered
    }

    /// Takes back the frame written from `frameStart` when its payload exceeds the client's
    /// MAX_FRAME_SIZE, returning the RESOURCE_EXHAUSTED status to answer with instead.
    private static func takeBackOversized(from frameStart: Int, limit: Int, in writer: inout ByteWriter) -> Status? {
        let payloadSize = writer.count - frameStart - FrameHeader.size
        guard payloadSize > limit else { return nil }
        writer.truncate(to: frameStart)
        return Status(.resourceExhausted, "response of \(payloadSize) bytes exceeds the client's MAX_FRAME_SIZE of \(limit)")
    }

    /// Writes an error response (empty body) for `status`.
    static func writeError(_ status: Status, streamID: UInt32, into writer: inout ByteWriter) {
        writer.writeResponse(streamID: streamID, head: ResponseHead(status: status, metadata: [:])) { _, _ in }
    }

    private func writeOK(streamID: UInt32, into writer: inout ByteWriter, body: (inout ByteWriter, Int) -> Void) {
        writer.writeResponse(streamID: streamID, head: ResponseHead(status: .ok, metadata: [:]), body: body)
    }

    private func requireEmptyBody(_ request: RequestFrame) throws(Status) {
        guard request.body.isEmpty else { throw Status(.invalidArgument, "\(request.head.method) takes an empty body") }
    }

    /// Everything an Infer needs before it can run: model, engine tensors, outputs, deadline.
    /// The access check comes first, in `resolve`: a denied request never copies a tensor, never
    /// claims a sequence and never reaches a scheduler.
    private func inferJob(_ request: RequestFrame, receivedAt: UInt64, caller: CallerIdentity) throws(Status) -> InferJob {
        let query = try InferRequestView(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
        let model = try repository.resolve(name: query.modelName, version: query.modelVersion, for: caller)
        do throws(Status) {
            var priority: Int?
            if let text = request.head.metadata["priority"] {
                guard let level = Int(text), level >= 1 else { throw Status(.invalidArgument, "metadata 'priority' must be a positive integer") }
                priority = level
            }
            var remaining: UInt64 = 0
            let timeout = request.head.timeoutMicroseconds
            if timeout > 0 {
                let elapsed = MonotonicClock.nanoseconds() &- receivedAt
                let limit = timeout.multipliedReportingOverflow(by: 1000)
                let total = limit.overflow ? UInt64.max : limit.partialValue
                guard elapsed < total else { throw Status(.deadlineExceeded, "deadline passed before the request could run") }
                remaining = total - elapsed
            }
            guard let store = model.sequences else {
                return InferJob(model: model, feeds: try Self.feeds(for: query, model: model, serverProvided: []),
                                outputIndices: try Self.outputIndices(requested: query.requestedOutputs, model: model, hidden: []),
                                priority: priority, timeoutNanoseconds: remaining, sequenceStep: nil)
            }
            let step = try SequenceStore.step(from: request.head.metadata)
            var feeds = try Self.feeds(for: query, model: model, serverProvided: store.stateInputs)
            let outputIndices = try Self.outputIndices(requested: query.requestedOutputs, model: model, hidden: store.stateOutputs)
            // Last: from here on the sequence is claimed until the job settles.
            for (name, tensor) in try store.begin(step, now: MonotonicClock.nanoseconds()) { feeds[name] = tensor }
            return InferJob(model: model, feeds: feeds, outputIndices: outputIndices, priority: priority,
                            timeoutNanoseconds: remaining, sequenceStep: step)
        } catch {
            model.recordOutcome(error.code)
            throw error
        }
    }

    /// Writes the RESPONSE for a finished Infer (inline or from the queue) and counts its outcome.
    static func writeInferResult(
        _ result: Result<[Tensor], SchedulingError>, of job: InferJob, streamID: UInt32,
        maxResponsePayload: Int, into writer: inout ByteWriter
    ) {
        let model = job.model
        job.settle(result)
        let frameStart = writer.count
        switch result {
        case .success(let outputs):
            writer.writeResponse(streamID: streamID, head: ResponseHead(status: .ok, metadata: [:])) { w, start in
                w.writeInferResponseHead(modelName: model.name, modelVersion: model.version, outputCount: job.outputIndices.count)
                for index in job.outputIndices {
                    // The tensor's own type: it is what the bytes hold (validated at load to be
                    // one the protocol carries).
                    let dataType = TensorDataType(rawValue: UInt8(outputs[index].elementType.onnxDataType)) ?? .float32
                    outputs[index].withUnsafeBytes { bytes in
                        w.writeTensor(name: model.outputSpecs[index].name, dataType: dataType,
                                      shape: outputs[index].shape, bytes: bytes, payloadStart: start)
                    }
                }
            }
            if let status = takeBackOversized(from: frameStart, limit: maxResponsePayload, in: &writer) {
                model.recordOutcome(status.code)
                writeError(status, streamID: streamID, into: &writer)
            } else {
                model.recordOutcome(.ok)
            }
        case .failure(let error):
            let status = Self.status(for: error)
            model.recordOutcome(status.code)
            writeError(status, streamID: streamID, into: &writer)
        }
    }

    /// The RPC status for a scheduling outcome.
    static func status(for error: SchedulingError) -> Status {
        switch error {
        case .queueFull: Status(.resourceExhausted, error.description)
        case .deadlineExceeded: Status(.deadlineExceeded, error.description)
        case .cancelled: Status(.cancelled, error.description)
        case .invalidRequest(let message): Status(.invalidArgument, message)
        case .inference(.invalidInput(let message)): Status(.invalidArgument, message)
        case .inference(.internalFailure(let message)): Status(.internalError, "inference failed: \(message)")
        case .shutDown: Status(.unavailable, error.description)
        }
    }

    /// Element types the engine stores (and so can take from the wire).
    static let engineTypes: Set<ElementType> = [.float32, .int64, .int32, .bool]

    /// Maps wire tensors onto the model's inputs: every input exactly once, right datatype.
    /// `serverProvided` inputs (sequence state) come from the server and must not be sent.
    private static func feeds(for query: InferRequestView, model: ServedModel, serverProvided: Set<String>) throws(Status) -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        feeds.reserveCapacity(query.inputs.count)
        for input in query.inputs {
            guard let spec = model.inputSpecs.first(where: { $0.name == input.name }) else {
                let names = model.inputSpecs.map { "'\($0.name)'" }.joined(separator: ", ")
                throw Status(.invalidArgument, "model '\(model.name)' has no input '\(input.name)' (inputs: \(names))")
            }
            guard feeds[input.name] == nil else { throw Status(.invalidArgument, "input '\(input.name)' given twice") }
            guard !serverProvided.contains(input.name) else {
                throw Status(.invalidArgument, "input '\(input.name)' is the sequence's state, which the server keeps; do not send it")
            }
            guard input.dataType == spec.dataType else {
                throw Status(.invalidArgument, "input '\(input.name)' is \(input.dataType); model '\(model.name)' expects \(spec.dataType)")
            }
            guard let elementType = ElementType(onnxDataType: Int32(input.dataType.rawValue)),
                  Self.engineTypes.contains(elementType) else {
                throw Status(.unimplemented, "input '\(input.name)': \(input.dataType) inputs are not served yet")
            }
            do {
                feeds[input.name] = try Tensor(shape: input.shape, elementType: elementType, copyingBytes: input.data)
            } catch {
                throw Status(.invalidArgument, "input '\(input.name)': \(error)")
            }
        }
        for spec in model.inputSpecs where feeds[spec.name] == nil && !serverProvided.contains(spec.name) {
            throw Status(.invalidArgument, "missing input '\(spec.name)' for model '\(model.name)'")
        }
        return feeds
    }

    /// The outputs to return: those requested, or all but the `hidden` ones (sequence state).
    private static func outputIndices(requested: [String], model: ServedModel, hidden: Set<String>) throws(Status) -> [Int] {
        guard !requested.isEmpty else { return model.outputSpecs.indices.filter { !hidden.contains(model.outputSpecs[$0].name) } }
        var indices: [Int] = []
        for name in requested {
            guard let index = model.outputSpecs.firstIndex(where: { $0.name == name }) else {
                throw Status(.invalidArgument, "model '\(model.name)' has no output '\(name)'")
            }
            guard !indices.contains(index) else { throw Status(.invalidArgument, "output '\(name)' requested twice") }
            indices.append(index)
        }
        return indices
    }
}
