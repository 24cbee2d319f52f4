import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// Turns one decoded REQUEST into exactly one RESPONSE frame, whatever happens.
///
/// Handlers throw a ``Status`` for anything a client got wrong (or that the server cannot do);
/// the router turns it into an error response on the same stream, so a bad request never costs
/// the connection, let alone the server.
struct RequestRouter: Sendable {
    let repository: ModelRepository
    let limits: MessageLimits
    let serverName: String
    static let serverVersion = "0.1.0"

    /// Writes the response to `request` at the end of `writer`.
    /// - Parameters:
    ///   - receivedAt: Monotonic nanoseconds when the request was decoded; the deadline counts from it.
    ///   - maxResponsePayload: The client's MAX_FRAME_SIZE; larger answers become RESOURCE_EXHAUSTED.
    func respond(
        to request: RequestFrame, streamID: UInt32, receivedAt: UInt64,
        maxResponsePayload: Int, into writer: inout ByteWriter
    ) {
        let frameStart = writer.count
        do throws(Status) {
            switch request.head.method {
            case MethodName.infer:
                try infer(request, streamID: streamID, receivedAt: receivedAt, into: &writer)
            case MethodName.listModels:
                try requireEmptyBody(request)
                let models = repository.entries.values.sorted { $0.name < $1.name }.map {
                    ModelSummary(name: $0.name, versions: $0.versions.map(\.version), ready: $0.isReady)
                }
                writeOK(streamID: streamID, into: &writer) { w, start in
                    ListModelsResponse(models: models).encode(into: &w, payloadStart: start)
                }
            case MethodName.modelMetadata:
                let query = try ModelMetadataRequest(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
                let model = try repository.resolve(name: query.name, version: query.version)
                let versions = repository.entries[model.name]?.versions.map(\.version) ?? [model.version]
                let response = ModelMetadataResponse(
                    name: model.name, versions: versions, platform: model.config.platform,
                    inputs: model.inputSpecs, outputs: model.outputSpecs)
                writeOK(streamID: streamID, into: &writer) { w, start in response.encode(into: &w, payloadStart: start) }
            case MethodName.serverInfo:
                try requireEmptyBody(request)
                let response = ServerInfoResponse(
                    name: serverName, version: Self.serverVersion,
                    protocolVersion: ProtocolVersion.current, extensions: ["health", "model-metadata"])
                writeOK(streamID: streamID, into: &writer) { w, start in response.encode(into: &w, payloadStart: start) }
            case MethodName.health:
                let query = try HealthRequest(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
                let serving: Bool
                switch query.kind {
                case .live: serving = true
                case .ready: serving = repository.allReady
                case .modelReady: serving = (try? repository.resolve(name: query.modelName, version: query.modelVersion)) != nil
                }
                writeOK(streamID: streamID, into: &writer) { w, start in
                    HealthResponse(serving: serving).encode(into: &w, payloadStart: start)
                }
            default:
                throw Status(.unimplemented, "unknown method '\(request.head.method)'")
            }
            let payloadSize = writer.count - frameStart - FrameHeader.size
            if payloadSize > maxResponsePayload {
                writer.truncate(to: frameStart)
                throw Status(.resourceExhausted,
                             "response of \(payloadSize) bytes exceeds the client's MAX_FRAME_SIZE of \(maxResponsePayload)")
            }
        } catch {
            writer.truncate(to: frameStart)
            Self.writeError(error, streamID: streamID, into: &writer)
        }
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

    private func infer(_ request: RequestFrame, streamID: UInt32, receivedAt: UInt64, into writer: inout ByteWriter) throws(Status) {
        let query = try InferRequestView(body: request.body, bodyOffset: request.bodyOffset, limits: limits)
        let model = try repository.resolve(name: query.modelName, version: query.modelVersion)
        let feeds = try Self.feeds(for: query, model: model)
        let outputIndices = try Self.outputIndices(requested: query.requestedOutputs, model: model)

        let outputs: [Tensor]
        do {
            outputs = try model.engine.run(feeds)
        } catch {
            switch error {
            case .invalidInput(let message): throw Status(.invalidArgument, message)
            case .internalFailure(let message): throw Status(.internalError, "inference failed: \(message)")
            }
        }
        // The client has given up on a request past its deadline; answering OK would hide that.
        let timeout = request.head.timeoutMicroseconds
        if timeout > 0, (MonotonicClock.nanoseconds() &- receivedAt) / 1000 > timeout {
            throw Status(.deadlineExceeded, "inference finished after the request's \(timeout) us deadline")
        }
        writeOK(streamID: streamID, into: &writer) { w, start in
            w.writeInferResponseHead(modelName: model.name, modelVersion: model.version, outputCount: outputIndices.count)
            for index in outputIndices {
                outputs[index].withUnsafeBytes { bytes in
                    w.writeTensor(name: model.outputSpecs[index].name, dataType: .float32,
                                  shape: outputs[index].shape, bytes: bytes, payloadStart: start)
                }
            }
        }
    }

    /// Maps wire tensors onto the model's inputs: every input exactly once, right datatype.
    private static func feeds(for query: InferRequestView, model: ServedModel) throws(Status) -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        feeds.reserveCapacity(query.inputs.count)
        for input in query.inputs {
            guard let spec = model.inputSpecs.first(where: { $0.name == input.name }) else {
                let names = model.inputSpecs.map { "'\($0.name)'" }.joined(separator: ", ")
                throw Status(.invalidArgument, "model '\(model.name)' has no input '\(input.name)' (inputs: \(names))")
            }
            guard feeds[input.name] == nil else { throw Status(.invalidArgument, "input '\(input.name)' given twice") }
            guard input.dataType == spec.dataType else {
                throw Status(.invalidArgument, "input '\(input.name)' is \(input.dataType); model '\(model.name)' expects \(spec.dataType)")
            }
            guard input.dataType == .float32 else {
                throw Status(.unimplemented, "input '\(input.name)': only FP32 model inputs are served yet")
            }
            do {
                feeds[input.name] = try Tensor(shape: input.shape, copyingFloat32Bytes: input.data)
            } catch {
                throw Status(.invalidArgument, "input '\(input.name)': \(error)")
            }
        }
        for spec in model.inputSpecs where feeds[spec.name] == nil {
            throw Status(.invalidArgument, "missing input '\(spec.name)' for model '\(model.name)'")
        }
        return feeds
    }

    private static func outputIndices(requested: [String], model: ServedModel) throws(Status) -> [Int] {
        guard !requested.isEmpty else { return Array(model.outputSpecs.indices) }
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
