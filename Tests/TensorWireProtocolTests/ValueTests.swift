import Testing
import TensorWireProtocol

@Suite("Values and limits")
struct ValueTests {
    @Test func statusCodes() {
        #expect(StatusCode.invalidArgument.name == "INVALID_ARGUMENT")
        #expect(StatusCode.internalError.description == "INTERNAL")
        #expect(StatusCode.unauthenticated.rawValue == 16)
        for raw in UInt16(0)...16 {
            let c = StatusCode(rawValue: raw)
            #expect(c.isKnown && StatusCode(name: c.name) == c)
        }
        let future = StatusCode(rawValue: 99)
        #expect(!future.isKnown && future != .unknown && future.canonical == .unknown && future.name == "UNKNOWN(99)")
        #expect(Status(.notFound, "x").description == "NOT_FOUND: x")
        #expect(Status.ok.code == .ok)
    }

    @Test func dataTypes() {
        #expect(TensorDataType.allCases.count == 13)
        for t in TensorDataType.allCases { #expect(TensorDataType(name: t.description) == t) }
        #expect(TensorDataType.float32.description == "FP32" && TensorDataType.int64.description == "INT64")
        #expect(TensorDataType.bool.byteWidth == 1 && TensorDataType.bfloat16.byteWidth == 2 && TensorDataType.float64.byteWidth == 8)
        #expect(TensorDataType(rawValue: 8) == nil)
    }

    @Test func elementCountIsOverflowSafe() {
        #expect(WireTensor.elementCount(of: []) == 1)
        #expect(WireTensor.elementCount(of: [2, 3, 4]) == 24)
        #expect(WireTensor.elementCount(of: [0, 5]) == 0)
        #expect(WireTensor.elementCount(of: [-1, 5]) == nil)
        #expect(WireTensor.elementCount(of: [1 << 32, 1 << 32]) == nil)
        #expect(WireTensor.elementCount(of: [Int.max, 2]) == nil)
        #expect(WireTensor.elementCount(of: [Int.max]) == Int.max)
        #expect(WireTensor.byteCount(dataType: .int64, shape: [Int.max / 4]) == nil)
        #expect(WireTensor.byteCount(dataType: .uint8, shape: [Int.max]) == Int.max)
    }

    @Test func wireTensorValidation() throws {
        #expect(throws: Status.self) { try WireTensor(name: "x", dataType: .float32, shape: [2], data: [0, 0, 0]) }
        #expect(throws: Status.self) { try WireTensor(name: "x", dataType: .uint8, shape: [-1], data: []) }
        #expect(throws: Status.self) { try WireTensor(name: "x", dataType: .uint8, shape: [1 << 32, 1 << 32], data: []) }
        #expect(throws: Status.self) { try WireTensor(name: "x", dataType: .uint8, shape: [Int](repeating: 1, count: 9), data: [0]) }
        #expect(throws: Status.self) { try WireTensor(name: "x", shape: [3], floats: [1, 2]) }
        let t = try WireTensor(name: "x", shape: [2], floats: [1.5, -0.0])
        #expect(t.data == [0, 0, 0xC0, 0x3F, 0, 0, 0, 0x80])
        #expect(t.floats == [1.5, -0.0])
    }

    @Test func metadata() throws {
        var m: Metadata = ["a": "1", "b-c.d_e": "x y"]
        m.append("a", "2")
        #expect(m["a"] == "1" && m["missing"] == nil && m.count == 3)
        #expect(Array(m.map(\.key)) == ["a", "b-c.d_e", "a"])
        try m.validate()
        #expect(throws: Status.self) { try (["Upper": "x"] as Metadata).validate() }
        #expect(throws: Status.self) { try (["k": "tab\t"] as Metadata).validate() }
        var many = Metadata()
        for i in 0..<64 { many.append("k\(i)", "v") }
        try many.validate()
        many.append("k64", "v")
        #expect(throws: Status.self) { try many.validate() }
    }

    @Test func metadataSizeLimitIsInclusive() throws {
        func parse(_ md: Metadata, limit: Int) throws(Status) {
            var limits = MessageLimits()
            limits.maxMetadataSize = limit
            let bytes = encode { $0.writeRequest(streamID: 1, head: RequestHead(method: "X", metadata: md)) { _, _ in } }
            let payload = Array(bytes.dropFirst(FrameHeader.size))
            do {
                try payload.withUnsafeBytes { p in _ = try RequestFrame(payload: p, limits: limits) }
            } catch let e as Status { throw e } catch { fatalError() }
        }
        let md: Metadata = ["a": String(repeating: "v", count: 8191)]
        try parse(md, limit: 8192)
        #expect(throws: Status.self) { try parse(md, limit: 8191) }
    }

    @Test func stringAndCountLimits() throws {
        // A 1024-byte status message is fine, 1025 is not.
        func response(_ message: String) -> [UInt8] {
            Array(encode { $0.writeResponse(streamID: 1, status: Status(.internalError, message)) }.dropFirst(FrameHeader.size))
        }
        try response(String(repeating: "m", count: 1024)).withUnsafeBytes { _ = try ResponseFrame(payload: $0, limits: .default) }
        #expect(throws: Status.self) {
            try response(String(repeating: "m", count: 1025)).withUnsafeBytes { _ = try ResponseFrame(payload: $0, limits: .default) }
        }
        // 256 tensors of rank 8 decode; the 257th is refused before anything is read.
        let t = try WireTensor(name: "t", dataType: .uint8, shape: [1, 1, 1, 1, 1, 1, 1, 1], data: [7])
        let body = encode { $0.writeInferRequest(modelName: "m", modelVersion: 0, inputs: Array(repeating: t, count: 256), requestedOutputs: [], payloadStart: 0) }
        let view = try body.withUnsafeBytes { try InferRequestView(body: $0, bodyOffset: 0, limits: .default) }
        #expect(view.inputs.count == 256 && view.inputs.allSatisfy { $0.shape.count == 8 && $0.elementCount == 1 })
    }

    @Test func versionNegotiation() {
        #expect(ProtocolVersion.negotiate(clientMin: 1, clientMax: 5) == 1)
        #expect(ProtocolVersion.negotiate(clientMin: 2, clientMax: 5) == nil)
        #expect(ProtocolVersion.negotiate(clientMin: 1, clientMax: 9, supported: 1...3) == 3)
        #expect(ProtocolVersion.negotiate(clientMin: 3, clientMax: 1) == nil)
        #expect(ConnectionError(.failedPrecondition, "v").goAway(lastStreamID: 0) == GoAway(lastStreamID: 0, code: .failedPrecondition, message: "v"))
    }

    @Test func byteWriterReuse() {
        var w = ByteWriter(capacity: 64)
        for i in 0..<1000 { w.writeUInt32(UInt32(i)) }
        let capacity = w.reservedCapacity
        #expect(w.count == 4000)
        w.discardPrefix(3996)
        #expect(w.bytes == [0xE7, 0x03, 0, 0])
        w.clear()
        #expect(w.count == 0 && w.reservedCapacity == capacity)
        w.writeString("hé")
        w.writePadding(payloadStart: 0)
        #expect(w.bytes == [3, 0, 0x68, 0xC3, 0xA9] + [UInt8](repeating: 0, count: 59))
        w.writePadding(payloadStart: 0)
        #expect(w.count == 64)
    }
}
