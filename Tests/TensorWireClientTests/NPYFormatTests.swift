import Testing
import TensorWireClient
import TensorWireProtocol

@Suite struct NPYFormatTests {
    /// Bytes exactly as `np.save` writes `np.arange(6, dtype=np.float32).reshape(2, 3)`.
    static let numpyFloat32: [UInt8] = {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        let padded = header + String(repeating: " ", count: 128 - 10 - header.utf8.count - 1) + "\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(padded.utf8.count), 0] + Array(padded.utf8)
        for value in 0..<6 { withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }()

    @Test func decodesWhatNumpyWrites() throws {
        let tensor = try NPYFormat.decode(Self.numpyFloat32, name: "x")
        #expect(tensor.name == "x")
        #expect(tensor.dataType == .float32)
        #expect(tensor.shape == [2, 3])
        #expect(tensor.floats == [0, 1, 2, 3, 4, 5])
    }

    @Test func roundTripsEveryDatatypeAndRank() throws {
        for dataType in TensorDataType.allCases where dataType != .bfloat16 {
            for shape in [[], [0], [5], [2, 3], [1, 2, 1, 2]] {
                let count = WireTensor.elementCount(of: shape)!
                let data = (0..<count * dataType.byteWidth).map { UInt8(truncatingIfNeeded: $0 * 7) }
                let tensor = try WireTensor(name: "t", dataType: dataType, shape: shape, data: data)
                let encoded = NPYFormat.encode(tensor)
                #expect((encoded.count - data.count) % 64 == 0, "header must be padded to 64 bytes")
                #expect(try NPYFormat.decode(encoded, name: "t") == tensor)
            }
        }
    }

    @Test func everyTruncationIsRefusedNotCrashed() {
        let bytes = Self.numpyFloat32
        for length in 0..<bytes.count {
            #expect(throws: NPYFormat.FormatError.self) { try NPYFormat.decode(Array(bytes.prefix(length)), name: "x") }
        }
    }

    @Test func refusesWhatItCannotRepresentFaithfully() {
        func npy(_ header: String, payload: Int = 0) -> [UInt8] {
            [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + Array(repeating: 0, count: payload)
        }
        let cases: [[UInt8]] = [
            npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", payload: 8),   // big-endian
            npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", payload: 16),  // Fortran order
            npy("{'descr': '<U8', 'fortran_order': False, 'shape': (1,), }", payload: 32),   // strings
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"),                // negative dim
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3037000500, 3037000500), }"),  // overflow
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload: 7),    // short data
            npy("{'fortran_order': False, 'shape': (2,), }", payload: 8),                     // no descr
            [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 9, 0, 0, 0],                                 // unknown version
            Array("not numpy at all".utf8),
        ]
        for bytes in cases {
            #expect(throws: NPYFormat.FormatError.self) { try NPYFormat.decode(bytes, name: "x") }
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            var bytes = Self.numpyFloat32
            for _ in 0..<4 { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? NPYFormat.decode(bytes, name: "x")
        }
    }
}

/// Deterministic generator so a failure reproduces.
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
