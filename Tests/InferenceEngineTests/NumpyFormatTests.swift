import Foundation
import Testing
@testable import InferenceEngine

@Suite(".npy reading and writing")
struct NumpyFormatTests {
    func npy(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: repoPath("Tests/Fixtures/npy/\(name).npy"))))
    }

    @Test func readsNumpyFiles() throws {
        let f = try Tensor(npy: npy("f32_2x3"))
        #expect(f.shape == [2, 3] && f.scalars == [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        let i = try Tensor(npy: npy("i64_scalar"))
        #expect(i.shape == [] && i.int64s == [-7])
        #expect(try Tensor(npy: npy("i32_vec")).int32s == [1, -2, 3])
        let b = try Tensor(npy: npy("bool_2x2"))
        #expect(b.shape == [2, 2] && b.bools == [true, false, false, true])
        let v2 = try Tensor(npy: npy("v2_f32"))
        #expect(v2.shape == [2, 1] && v2.scalars == [1.5, 2.5])
    }

    @Test("unsupported .npy files are refused", arguments: ["f64", "fortran", "big_endian", "truncated"])
    func refuses(_ name: String) throws {
        let bytes = try npy(name)
        #expect(throws: InferenceError.self) { try Tensor(npy: bytes) }
        #expect(throws: InferenceError.self) { try Tensor(npy: Array(bytes.prefix(9))) }
    }

    @Test func writesWhatNumpyWrites() throws {
        // Same bytes as np.save for these simple arrays (header padded to 64 bytes, v1.0).
        for name in ["f32_2x3", "i64_scalar", "i32_vec", "bool_2x2"] {
            let bytes = try npy(name)
            #expect(try Tensor(npy: bytes).npyBytes() == bytes, "\(name)")
        }
        let t = Tensor(shape: [3], int64s: [1, 2, 3])
        #expect(try Tensor(npy: t.npyBytes()).int64s == [1, 2, 3])
    }
}
