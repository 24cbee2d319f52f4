import Foundation
import Testing
import TensorWireProtocol

/// One entry of proto-spec/vectors/*.tvec (format: proto-spec/vectors/README.md).
struct Vector: Sendable, CustomTestStringConvertible {
    var file = ""
    var name = ""
    var description = ""
    var role = "server"
    var maxFrameSize = 4 << 20
    var method: String?
    var bytes: [UInt8] = []
    var frames: [String] = []
    var decoded: [String] = []
    var result = ""

    var testDescription: String { name }
}

enum VectorFile {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("proto-spec/vectors")

    static let all: [Vector] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".tvec") }.sorted().flatMap { name in
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return parse(text, file: name)
        }
    }()

    static func parse(_ text: String, file: String) -> [Vector] {
        var out: [Vector] = []
        var current: Vector?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == "end" {
                if let v = current { out.append(v) }
                current = nil
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { fatalError("\(file): bad line \(line)") }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "vector" { current = Vector(file: file, name: value); continue }
            guard current != nil else { fatalError("\(file): \(key) outside a vector") }
            switch key {
            case "description": current!.description = value
            case "role": current!.role = value
            case "max-frame-size": current!.maxFrameSize = Int(value)!
            case "method": current!.method = value
            case "hex":
                let digits = Array(value.filter { !$0.isWhitespace })
                precondition(digits.count % 2 == 0, "odd hex digit count in \(current!.name)")
                for i in stride(from: 0, to: digits.count, by: 2) {
                    current!.bytes.append(UInt8(String(digits[i...i + 1]), radix: 16)!)
                }
            case "zeros": current!.bytes += [UInt8](repeating: 0, count: Int(value)!)
            case "frames": current!.frames = value == "-" ? [] : value.split(separator: " ").map(String.init)
            case "decoded": current!.decoded.append(value)
            case "result": current!.result = value
            default: fatalError("\(file): unknown key \(key)")
            }
        }
        return out
    }
}

/// What replaying a vector produced, in the vector file's vocabulary.
struct VectorRun: Equatable {
    var frames: [String] = []
    var decoded: [String] = []
    var result = ""
    var misaligned: [String] = []
}

private enum VectorFailure: Error {
    case connection(StatusCode)
    case stream(StatusCode)
}

/// Replays `vector.bytes` through a fresh decoder in chunks of the given sizes and parses every
/// payload with the module's parsers, stopping at the first error.
func replay(_ vector: Vector, chunks: [Int]) -> VectorRun {
    var run = VectorRun()
    var decoder = FrameDecoder(maxPayloadSize: vector.maxFrameSize, expectsPreface: vector.role == "server")
    var offset = 0
    for size in chunks {
        let n = min(size, vector.bytes.count - offset)
        vector.bytes[offset..<offset + n].withUnsafeBytes { decoder.append($0) }
        offset += n
        do {
            while let frame = try decoder.next() {
                run.frames.append(frame.header.type.description)
                if Int(bitPattern: frame.payload.baseAddress) % 64 != 0 { run.misaligned.append("payload") }
                run.decoded.append(try summarize(frame, method: vector.method, misaligned: &run.misaligned))
            }
        } catch let error as ConnectionError {
            run.result = "connection-error \(error.code.name)"
            return run
        } catch VectorFailure.connection(let code) {
            run.result = "connection-error \(code.name)"
            return run
        } catch VectorFailure.stream(let code) {
            run.result = "stream-error \(code.name)"
            return run
        } catch {
            run.result = "unexpected \(error)"
            return run
        }
    }
    run.result = decoder.bufferedByteCount == 0 ? "ok" : "incomplete"
    return run
}

private func conn<T>(_ body: () throws(ConnectionError) -> T) throws -> T {
    do { return try body() } catch { throw VectorFailure.connection(error.code) }
}

private func stream<T>(_ body: () throws(Status) -> T) throws -> T {
    do { return try body() } catch { throw VectorFailure.stream(error.code) }
}

private func settings(_ s: ConnectionSettings) -> String {
    "frame=\(s.maxFrameSize) streams=\(s.maxConcurrentStreams) metadata=\(s.maxMetadataSize)"
}

private func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

private func shape(_ dims: [Int]) -> String {
    dims.isEmpty ? "scalar" : dims.map(String.init).joined(separator: "x")
}

private func dataSummary(_ data: UnsafeRawBufferPointer) -> String {
    if data.count <= 32 { return data.map { String(format: "%02x", $0) }.joined() }
    var h: UInt32 = 0x811C_9DC5
    for b in data { h = (h ^ UInt32(b)) &* 0x0100_0193 }
    return String(format: "fnv1a32=%08x", h)
}

private func tensors(_ ts: [WireTensorView], _ misaligned: inout [String]) -> String {
    ts.map { t in
        if !t.data.isEmpty, Int(bitPattern: t.data.baseAddress) % 64 != 0 { misaligned.append(t.name) }
        return "\(t.name):\(t.dataType):\(shape(t.shape)):\(dataSummary(t.data))"
    }.joined(separator: ",")
}

private func specs(_ ss: [TensorSpec]) -> String {
    ss.map { "\($0.name):\($0.dataType):\(shape($0.shape))" }.joined(separator: ",")
}

private func metadata(_ m: Metadata) -> String {
    "{" + m.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
}

/// Renders a frame the way generate.py writes `decoded:` lines.
private func summarize(_ frame: FrameView, method: String?, misaligned: inout [String]) throws -> String {
    let h = frame.header
    let p = frame.payload
    let limits = MessageLimits.default
    let prefix = "\(h.type) stream=\(h.streamID)"
    switch h.type {
    case .hello:
        let x = try conn { () throws(ConnectionError) in try Hello(payload: p) }
        return "\(prefix) min=\(x.minVersion) max=\(x.maxVersion) \(settings(x.settings)) token=\(x.authToken)"
    case .helloAck:
        let x = try conn { () throws(ConnectionError) in try HelloAck(payload: p) }
        return "\(prefix) version=\(x.version) \(settings(x.settings)) server=\(x.serverName)"
    case .ping, .pong:
        return "\(prefix) opaque=\(hex(try conn { () throws(ConnectionError) in try decodePingPayload(p) }))"
    case .goAway:
        let x = try conn { () throws(ConnectionError) in try GoAway(payload: p) }
        return "\(prefix) last=\(x.lastStreamID) code=\(x.code.name) message=\(x.message)"
    case .cancel:
        return prefix
    case .request:
        let r = try stream { () throws(Status) in try RequestFrame(payload: p, limits: limits) }
        let head = "\(prefix) method=\(r.head.method) timeout=\(r.head.timeoutMicroseconds) metadata=\(metadata(r.head.metadata)) body_offset=\(r.bodyOffset)"
        if Int(bitPattern: r.body.baseAddress) % 64 != 0 && !r.body.isEmpty { misaligned.append("body") }
        let body: String
        switch r.head.method {
        case MethodName.infer:
            let x = try stream { () throws(Status) in try InferRequestView(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "model=\(x.modelName) version=\(x.modelVersion) inputs=[\(tensors(x.inputs, &misaligned))] outputs=[\(x.requestedOutputs.joined(separator: ","))]"
        case MethodName.listModels:
            _ = try stream { () throws(Status) in try ListModelsRequest(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = ""
        case MethodName.serverInfo:
            _ = try stream { () throws(Status) in try ServerInfoRequest(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = ""
        case MethodName.modelMetadata:
            let x = try stream { () throws(Status) in try ModelMetadataRequest(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "model=\(x.name) version=\(x.version)"
        case MethodName.health:
            let x = try stream { () throws(Status) in try HealthRequest(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "kind=\(x.kind.rawValue) model=\(x.modelName) version=\(x.modelVersion)"
        case MethodName.stats:
            let x = try stream { () throws(Status) in try StatsRequest(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "model=\(x.modelName)"
        default:
            throw VectorFailure.stream(.unimplemented)
        }
        return body.isEmpty ? head : head + " " + body
    case .response:
        let r = try stream { () throws(Status) in try ResponseFrame(payload: p, limits: limits) }
        let head = "\(prefix) status=\(r.head.status.code.name) message=\(r.head.status.message) metadata=\(metadata(r.head.metadata)) body_offset=\(r.bodyOffset)"
        guard r.head.status.code == .ok else { return head }
        let body: String
        switch method {
        case MethodName.infer:
            let x = try stream { () throws(Status) in try InferResponseView(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "model=\(x.modelName) version=\(x.modelVersion) outputs=[\(tensors(x.outputs, &misaligned))]"
        case MethodName.listModels:
            let x = try stream { () throws(Status) in try ListModelsResponse(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "models=[" + x.models.map { "\($0.name):\($0.versions.map(String.init).joined(separator: "/")):\($0.ready ? 1 : 0)" }.joined(separator: ",") + "]"
        case MethodName.modelMetadata:
            let x = try stream { () throws(Status) in try ModelMetadataResponse(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "model=\(x.name) versions=[\(x.versions.map(String.init).joined(separator: ","))] platform=\(x.platform) inputs=[\(specs(x.inputs))] outputs=[\(specs(x.outputs))] config=\(metadata(x.config))"
        case MethodName.serverInfo:
            let x = try stream { () throws(Status) in try ServerInfoResponse(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "name=\(x.name) version=\(x.version) protocol=\(x.protocolVersion) extensions=[\(x.extensions.joined(separator: ","))]"
        case MethodName.health:
            let x = try stream { () throws(Status) in try HealthResponse(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "serving=\(x.serving ? 1 : 0)"
        case MethodName.stats:
            let x = try stream { () throws(Status) in try StatsResponse(body: r.body, bodyOffset: r.bodyOffset, limits: limits) }
            body = "models=[" + x.models.map { m in
                let sizes = m.batchSizes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
                return "\(m.name):\(m.version) ok=\(m.successes) failed=\(m.failures) inline=\(m.inlineRequests) executions=\(m.executions) sizes=\(sizes) queue=\(m.queueCount)/\(m.queueNanoseconds) compute=\(m.computeCount)/\(m.computeNanoseconds) rejected=\(m.rejectedQueueFull) expired=\(m.expiredInQueue) cancelled=\(m.cancelledInQueue)"
            }.joined(separator: ",") + "]"
        default:
            fatalError("vector RESPONSE without a known method: \(method ?? "nil")")
        }
        return body.isEmpty ? head : head + " " + body
    }
}

@Suite("Test vectors (proto-spec/vectors)")
struct VectorTests {
    @Test func vectorsAreLoaded() {
        #expect(VectorFile.all.count >= 80)
        #expect(Set(VectorFile.all.map(\.name)).count == VectorFile.all.count, "duplicate vector names")
        for v in VectorFile.all {
            #expect(!v.result.isEmpty, "\(v.name) has no result")
            #expect(["server", "client"].contains(v.role), "\(v.name) role")
        }
    }

    private func check(_ v: Vector, _ run: VectorRun, _ how: String) {
        #expect(run.result == v.result, "\(v.name) [\(how)]")
        #expect(run.frames == v.frames, "\(v.name) [\(how)]")
        #expect(run.decoded == v.decoded, "\(v.name) [\(how)]")
        #expect(run.misaligned.isEmpty, "\(v.name) [\(how)] misaligned: \(run.misaligned)")
    }

    @Test("whole buffer", arguments: VectorFile.all)
    func whole(_ v: Vector) {
        check(v, replay(v, chunks: [max(v.bytes.count, 1)]), "whole")
    }

    @Test("byte by byte", arguments: VectorFile.all)
    func byteByByte(_ v: Vector) {
        check(v, replay(v, chunks: Array(repeating: 1, count: v.bytes.count)), "byte by byte")
    }

    @Test("random splits", arguments: VectorFile.all)
    func randomSplits(_ v: Vector) {
        for seed in UInt64(1)...16 {
            var rng = SeededRNG(seed: seed &* 0x1234_5678 ^ UInt64(v.bytes.count))
            let chunks = randomChunks(total: v.bytes.count, maxChunk: seed < 8 ? 13 : 700, rng: &rng)
            check(v, replay(v, chunks: chunks), "seed \(seed)")
        }
    }
}
