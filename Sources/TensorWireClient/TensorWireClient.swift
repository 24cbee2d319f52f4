import TensorWireProtocol
import TensorWireTransport

/// A client for a TensorWire server.
///
/// One client keeps one TLS connection and multiplexes every call on it, so it is meant to be
/// created once and shared by all threads and tasks of a service. Each call is available in a
/// blocking form, for latency-critical threads that should not hop through an executor, and an
/// async form. A broken connection is replaced on the next call.
///
/// A call fails fast with `RESOURCE_EXHAUSTED` when the server's MAX_CONCURRENT_STREAMS calls
/// (256 by default) are already in flight on the connection, rather than queueing invisibly.
///
/// ```swift
/// let client = try TensorWireClient(configuration: .init(trustRootsFile: "certs/dev/ca.pem"))
/// let features = try WireTensor(name: "features", shape: [1, 10], floats: row)
/// let result = try client.infer(model: "credit_default", inputs: [features])
/// ```
public final class TensorWireClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: ClientConfiguration
    private let context: TLSContext
    private let state: ConnectionSlot

    /// Connects to the server (TLS handshake and protocol HELLO) before returning.
    public init(configuration: ClientConfiguration) throws(RPCError) {
        self.configuration = configuration
        let tls = TLSConfiguration.client(
            trustRootsFile: configuration.trustRootsFile,
            certificateChainFile: configuration.certificateChainFile,
            privateKeyFile: configuration.privateKeyFile,
            minimumVersion: configuration.minimumTLSVersion)
        do {
            context = try TLSContext(configuration: tls)
        } catch {
            throw RPCError(code: .invalidArgument, message: "TLS configuration: \(error)", cause: error)
        }
        state = ConnectionSlot(try ClientConnection(configuration: configuration, context: context))
    }

    deinit {
        state.close()
    }

    /// Closes the connection. Calls in flight fail with CANCELLED; later calls reconnect.
    public func close() {
        state.close()
    }

    /// The protocol version negotiated with the server.
    public var protocolVersion: UInt16 {
        get throws(RPCError) { try connection().protocolVersion }
    }

    private func connection() throws(RPCError) -> ClientConnection {
        try state.current { () throws(RPCError) in try ClientConnection(configuration: configuration, context: context) }
    }

    private func deadline(_ timeout: Duration?) -> UInt64? {
        (timeout ?? configuration.defaultTimeout).map(MonotonicClock.deadline(after:))
    }

    // MARK: Generic call plumbing

    private func unary<Response>(
        method: String, metadata: Metadata, timeout: Duration?,
        body: (inout ByteWriter, Int) -> Void,
        decode: @escaping (ResponseFrame) throws(Status) -> Response
    ) throws(RPCError) -> Response {
        let box = ResponseBox<Response>()
        try connection().callBlocking(
            method: method, metadata: metadata, deadline: deadline(timeout), body: body,
            deliver: Self.deliverer(into: box, decode: decode))
        return box.value!
    }

    private func unary<Response>(
        method: String, metadata: Metadata, timeout: Duration?,
        body: (inout ByteWriter, Int) -> Void,
        decode: @escaping (ResponseFrame) throws(Status) -> Response
    ) async throws(RPCError) -> Response {
        let box = ResponseBox<Response>()
        try await connection().callAsync(
            method: method, metadata: metadata, deadline: deadline(timeout), body: body,
            deliver: Self.deliverer(into: box, decode: decode))
        return box.value!
    }

    private static func deliverer<Response>(
        into box: ResponseBox<Response>, decode: @escaping (ResponseFrame) throws(Status) -> Response
    ) -> PendingCall.Deliver {
        { frame in
            guard frame.head.status.code == .ok else {
                return RPCError(frame.head.status, metadata: frame.head.metadata)
            }
            do throws(Status) {
                box.value = try decode(frame)
                return nil
            } catch {
                return RPCError(code: .internalError, message: "malformed response body: \(error.message)", cause: error)
            }
        }
    }

    private static func decodeInfer(_ frame: ResponseFrame) throws(Status) -> InferResult {
        let view = try InferResponseView(body: frame.body, bodyOffset: frame.bodyOffset, limits: MessageLimits())
        return InferResult(modelName: view.modelName, modelVersion: view.modelVersion,
                           outputs: view.outputs.map(WireTensor.init(copying:)))
    }

    // MARK: Infer

    /// Runs `model` on `inputs`, blocking the calling thread until the outputs arrive.
    /// - Parameters:
    ///   - version: The model version; 0 lets the server use its latest.
    ///   - outputs: Names of the outputs to return; empty returns all.
    ///   - timeout: The call's deadline, relative to now; `nil` uses the configuration's default.
    public func infer(
        model: String, version: UInt64 = 0, inputs: [WireTensor], outputs: [String] = [],
        timeout: Duration? = nil, metadata: Metadata = [:]
    ) throws(RPCError) -> InferResult {
        try unary(method: MethodName.infer, metadata: metadata, timeout: timeout, body: { writer, start in
            writer.writeInferRequest(modelName: model, modelVersion: version, inputs: inputs,
                                     requestedOutputs: outputs, payloadStart: start)
        }, decode: Self.decodeInfer)
    }

    /// Runs `model` on `inputs` without blocking a thread. Cancelling the task cancels the call.
    public func infer(
        model: String, version: UInt64 = 0, inputs: [WireTensor], outputs: [String] = [],
        timeout: Duration? = nil, metadata: Metadata = [:]
    ) async throws(RPCError) -> InferResult {
        try await unary(method: MethodName.infer, metadata: metadata, timeout: timeout, body: { writer, start in
            writer.writeInferRequest(modelName: model, modelVersion: version, inputs: inputs,
                                     requestedOutputs: outputs, payloadStart: start)
        }, decode: Self.decodeInfer)
    }

    // MARK: Discovery and health

    /// The models in the server's repository, with their versions and readiness.
    public func listModels(timeout: Duration? = nil) throws(RPCError) -> [ModelSummary] {
        try unary(method: MethodName.listModels, metadata: [:], timeout: timeout, body: { _, _ in }) { frame throws(Status) in
            try ListModelsResponse(body: frame.body, bodyOffset: frame.bodyOffset, limits: MessageLimits()).models
        }
    }

    /// A model's versions, inputs and outputs (-1 marks a variable dimension).
    public func modelMetadata(model: String, version: UInt64 = 0, timeout: Duration? = nil) throws(RPCError) -> ModelMetadataResponse {
        try unary(method: MethodName.modelMetadata, metadata: [:], timeout: timeout, body: { writer, start in
            ModelMetadataRequest(name: model, version: version).encode(into: &writer, payloadStart: start)
        }) { frame throws(Status) in
            try ModelMetadataResponse(body: frame.body, bodyOffset: frame.bodyOffset, limits: MessageLimits())
        }
    }

    /// The server's name, version and protocol version.
    public func serverInfo(timeout: Duration? = nil) throws(RPCError) -> ServerInfoResponse {
        try unary(method: MethodName.serverInfo, metadata: [:], timeout: timeout, body: { _, _ in }) { frame throws(Status) in
            try ServerInfoResponse(body: frame.body, bodyOffset: frame.bodyOffset, limits: MessageLimits())
        }
    }

    /// Whether the server is live, ready, or (with `.modelReady`) whether `model` can serve.
    public func health(_ kind: HealthKind = .ready, model: String = "", version: UInt64 = 0, timeout: Duration? = nil) throws(RPCError) -> Bool {
        try unary(method: MethodName.health, metadata: [:], timeout: timeout, body: { writer, start in
            HealthRequest(kind: kind, modelName: model, modelVersion: version).encode(into: &writer, payloadStart: start)
        }) { frame throws(Status) in
            try HealthResponse(body: frame.body, bodyOffset: frame.bodyOffset, limits: MessageLimits()).serving
        }
    }

    /// What the server has done with `model` (all models when empty): Infer outcomes by status,
    /// batch sizes, queue and compute time.
    public func stats(model: String = "", timeout: Duration? = nil) throws(RPCError) -> [ModelStatistics] {
        try unary(method: MethodName.stats, metadata: [:], timeout: timeout, body: { writer, start in
            StatsRequest(modelName: model).encode(into: &writer, payloadStart: start)
        }) { frame throws(Status) in
            try StatsResponse(body: frame.body, bodyOffset: frame.bodyOffset, limits: MessageLimits()).models
        }
    }

    /// Sends a request for an arbitrary method and returns the raw response body; for tools
    /// and tests that exercise the protocol itself.
    public func call(method: String, body: [UInt8] = [], metadata: Metadata = [:], timeout: Duration? = nil) throws(RPCError) -> [UInt8] {
        try unary(method: method, metadata: metadata, timeout: timeout, body: { writer, _ in
            body.withUnsafeBytes { writer.writeBytes($0) }
        }) { frame throws(Status) in Array(frame.body) }
    }
}

/// Holds the client's current connection and replaces it once it breaks.
final class ConnectionSlot: @unchecked Sendable {
    private let lock = ConditionLock()
    private var connection: ClientConnection?

    init(_ connection: ClientConnection) { self.connection = connection }

    func current(reconnect: () throws(RPCError) -> ClientConnection) throws(RPCError) -> ClientConnection {
        lock.lock()
        defer { lock.unlock() }
        if let connection, !connection.isBroken { return connection }
        connection?.close()
        let fresh = try reconnect()
        connection = fresh
        return fresh
    }

    func close() {
        let old = lock.withLock { () -> ClientConnection? in
            defer { connection = nil }
            return connection
        }
        old?.close()
    }
}
