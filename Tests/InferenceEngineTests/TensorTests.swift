import Testing
@testable import InferenceEngine

@Suite("Tensor and value types")
struct TensorTests {
    @Test func scalarsAndBytesRoundTrip() throws {
        let t = Tensor(shape: [2, 2], scalars: [1, -2, 3.5, 0])
        #expect(t.elementType == .float32)
        #expect(t.elementCount == 4)
        let copy = try t.withUnsafeBytes { raw in
            #expect(raw.count == 16)
            return try Tensor(shape: [4], copyingFloat32Bytes: raw)
        }
        #expect(copy.scalars == t.scalars)
        #expect(copy.shape == [4])
    }

    @Test func byteCountMismatchThrows() {
        let bytes: [UInt8] = [0, 0, 128, 63, 0]
        bytes.withUnsafeBytes { raw in
            #expect(throws: InferenceError.self) { try Tensor(shape: [1], copyingFloat32Bytes: raw) }
            #expect(throws: InferenceError.self) { try Tensor(shape: [-1], copyingFloat32Bytes: raw) }
            #expect(throws: InferenceError.self) { try Tensor(shape: [Int.max, 2], copyingFloat32Bytes: raw) }
        }
        let one = try? bytes.withUnsafeBytes { try Tensor(shape: [1], copyingFloat32Bytes: UnsafeRawBufferPointer(rebasing: $0[0..<4])) }
        #expect(one?.scalars == [1])
    }

    @Test func scalarTensor() {
        let t = Tensor(shape: [], scalars: [42])
        #expect(t.elementCount == 1)
    }

    @Test func elementTypeNumbering() {
        #expect(ElementType.float32.onnxDataType == 1)
        #expect(ElementType(onnxDataType: 11) == .float64)
        #expect(ElementType(onnxDataType: 16) == .bfloat16)
        #expect(ElementType(onnxDataType: 0) == nil)
        for raw in Int32(0)...Int32(20) {
            if let t = ElementType(onnxDataType: raw) { #expect(t.onnxDataType == raw) }
        }
        #expect(ElementType.float64.description == "float64")
        #expect(ElementType.float64.onnxName == "DOUBLE")
    }

    @Test func dimensionDescription() {
        #expect(Dimension.symbolic("batch").description == "batch")
        #expect(Dimension.fixed(10).description == "10")
        #expect(InferenceError.invalidInput("x").description == "invalid input: x")
    }
}
