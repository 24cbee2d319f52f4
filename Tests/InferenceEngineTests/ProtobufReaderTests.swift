import Testing
@testable import InferenceEngine

/// Minimal protobuf writer for building test inputs.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wire: UInt8) { varint(UInt64(field) << 3 | UInt64(wire)) }
    mutating func int(_ field: Int, _ value: Int64) { tag(field, 0); varint(UInt64(bitPattern: value)) }
    mutating func bytesField(_ field: Int, _ payload: [UInt8]) { tag(field, 2); varint(UInt64(payload.count)); bytes += payload }
    mutating func string(_ field: Int, _ s: String) { bytesField(field, Array(s.utf8)) }
    mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        var sub = ProtoWriter()
        build(&sub)
        bytesField(field, sub.bytes)
    }
}

let creditModelBytes: [UInt8] = try! Model.readFile(repoPath("examples/models/credit_default/1/model.onnx"))

func loadError(_ bytes: [UInt8]) -> ModelLoadError? {
    do { _ = try Model(bytes: bytes, modelDirectory: nil); return nil } catch { return error }
}

@Suite("Protobuf reader")
struct ProtobufReaderTests {
    @Test func varintsUpToTenBytes() throws {
        var w = ProtoWriter()
        w.varint(UInt64.max)          // 10 bytes
        w.varint(300)
        var r = ProtobufReader(bytes: w.bytes)
        #expect(try r.readVarint() == UInt64.max)
        #expect(try r.readVarint() == 300)
        #expect(r.isAtEnd)
    }

    @Test func varintLongerThanTenBytesThrows() {
        var r = ProtobufReader(bytes: [UInt8](repeating: 0x80, count: 11) + [0])
        #expect(throws: ModelLoadError.self) { try r.readVarint() }
        let e = loadError([0x08] + [UInt8](repeating: 0xFF, count: 11) + [0x01])
        #expect(e?.message.contains("varint longer than 10 bytes") == true)
    }

    @Test func truncatedVarintThrows() {
        var r = ProtobufReader(bytes: [0x80, 0x80])
        #expect(throws: ModelLoadError.self) { try r.readVarint() }
    }

    @Test func packedAndUnpackedRepeatedScalars() throws {
        var w = ProtoWriter()
        // unpacked int64 field 1 twice, then a packed run [3, -1]
        w.int(1, 5); w.int(1, 7)
        var packed = ProtoWriter(); packed.varint(3); packed.varint(UInt64(bitPattern: -1))
        w.bytesField(1, packed.bytes)
        // packed floats 1.5, -2
        var floats: [UInt8] = []
        for f: Float in [1.5, -2] { withUnsafeBytes(of: f.bitPattern.littleEndian) { floats += $0 } }
        w.bytesField(4, floats)
        // unpacked float
        w.tag(4, 5); withUnsafeBytes(of: Float(0.25).bitPattern.littleEndian) { w.bytes += $0 }
        var r = ProtobufReader(bytes: w.bytes)
        let t = try ONNXModelParser.parseTensor(&r)
        #expect(t.dims == [5, 7, 3, -1])
        #expect(t.floatData == [1.5, -2, 0.25])
    }

    @Test func packedFloatLengthMustBeMultipleOfFour() {
        var w = ProtoWriter()
        w.bytesField(4, [0, 0, 0, 0, 0])
        var r = ProtobufReader(bytes: w.bytes)
        #expect(throws: ModelLoadError.self) { try ONNXModelParser.parseTensor(&r) }
    }

    @Test func nestedLengthMustFitInParent() {
        // ModelProto.graph claims 100 bytes but only 2 follow.
        let e = loadError([0x3A, 100, 0x0A, 0x00])
        #expect(e?.message.contains("exceeds") == true)
    }

    @Test func hugeLengthDoesNotAllocate() {
        var w = ProtoWriter()
        w.tag(7, 2); w.varint(1 << 62)
        #expect(loadError(w.bytes)?.message.contains("exceeds") == true)
    }

    @Test func nestingDepthIsBounded() throws {
        var payload: [UInt8] = []
        for _ in 0..<(ProtobufReader.maxDepth + 2) {
            var w = ProtoWriter()
            w.bytesField(1, payload)
            payload = w.bytes
        }
        var r = ProtobufReader(bytes: payload)
        var depthReached = 0
        #expect(throws: ModelLoadError.self) {
            while true {
                let (_, wire) = try r.readTag()
                r = try r.readMessage(wireType: wire)
                depthReached += 1
            }
        }
        #expect(depthReached == ProtobufReader.maxDepth)
    }

    @Test func groupWireTypeAndFieldZeroAreRejected() {
        #expect(loadError([0x0B])?.message.contains("wire type 3") == true)
        #expect(loadError([0x00, 0x01])?.message.contains("field number 0") == true)
    }

    @Test func emptyAndGraphlessInputs() {
        #expect(loadError([])?.message.contains("empty") == true)
        var w = ProtoWriter()
        w.int(1, 8)
        #expect(loadError(w.bytes)?.message.contains("no graph") == true)
    }

    @Test("every truncation of a valid model throws, never crashes")
    func byteByByteTruncation() {
        var loaded = 0
        for length in 0..<creditModelBytes.count {
            if loadError(Array(creditModelBytes[..<length])) == nil { loaded += 1 }
        }
        // A prefix may by chance be a valid smaller model only if it still has every node and
        // output; for this file no strict prefix is.
        #expect(loaded == 0)
        #expect(loadError(creditModelBytes) == nil)
    }

    @Test("random bytes and bit flips never crash")
    func fuzz() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<500 {
            let count = Int(rng.next() % 512)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = loadError(bytes)
        }
        var survivors = 0
        for _ in 0..<1500 {
            var bytes = creditModelBytes
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= UInt8(1) << UInt8(rng.next() % 8)
            }
            guard let model = try? Model(bytes: bytes, modelDirectory: nil) else { continue }
            survivors += 1
            // A mutated model that still loads must also run (or refuse the request) safely.
            var inputs: [String: Tensor] = [:]
            for info in model.inputs {
                let shape = info.dimensions.map { d -> Int in if case .fixed(let n) = d { n } else { 2 } }
                guard let count = ShapeMath.elementCount(shape, limit: 1 << 20) else { continue }
                inputs[info.name] = Tensor(shape: shape, scalars: [Float](repeating: 0.5, count: count))
            }
            _ = try? model.run(inputs)
        }
        #expect(survivors > 0)   // flips inside float weights keep the model valid
    }
}

/// Small deterministic PRNG so the fuzz corpus is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
