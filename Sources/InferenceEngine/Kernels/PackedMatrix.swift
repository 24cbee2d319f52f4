#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The B operand of a GEMM (`[K, N]`), rearranged once into the order the micro-kernel reads it,
/// in memory it owns. The layout is ``PackedPanels``; constant weights are packed at model
/// load, so requests only stream them.
///
/// Immutable after `init`, hence safe to share between threads.
final class PackedMatrix: @unchecked Sendable {
    let panels: PackedPanels

    /// K: rows of B.
    var rows: Int { panels.rows }
    /// N: columns of B.
    var columns: Int { panels.columns }
    /// Rows of B per slice.
    var sliceDepth: Int { panels.sliceDepth }

    /// Packs `B[p][j] = b[p·ldb + j]` or, when `transposed`, `B[p][j] = b[j·ldb + p]` (the
    /// layout of Gemm's `transB = 1`, so constant weights are packed without a transpose copy).
    init(rows k: Int, columns n: Int, from b: UnsafePointer<Float>, ldb: Int, transposed: Bool = false,
         sliceDepth: Int = GemmKernel.sliceDepth) {
        precondition(k >= 0 && n >= 0 && sliceDepth > 0)
        let count = PackedPanels.floatCount(rows: k, columns: n)
        var raw: UnsafeMutableRawPointer?
        // 64-byte alignment: every panel row then starts on a cache line (vector loads never split).
        guard posix_memalign(&raw, 64, count * MemoryLayout<Float>.stride) == 0, let raw else {
            fatalError("PackedMatrix: out of memory for \(count) floats")
        }
        panels = PackedPanels(storage: raw.bindMemory(to: Float.self, capacity: count), rows: k, columns: n, sliceDepth: sliceDepth)
        panels.pack(from: b, ldb: ldb, transposed: transposed)
    }

    /// Packs a constant 2-D float tensor (`[K, N]`, or `[N, K]` when `transposed`); nil for any
    /// other tensor, which then stays an ordinary runtime input.
    static func packing(_ tensor: Tensor, transposed: Bool) -> PackedMatrix? {
        guard tensor.shape.count == 2, let values = tensor.floats else { return nil }
        let k = transposed ? tensor.shape[1] : tensor.shape[0]
        let n = transposed ? tensor.shape[0] : tensor.shape[1]
        // An empty array has no base address; with K·N = 0 the one element is never read.
        let source = values.isEmpty ? [0] : values
        return source.withUnsafeBufferPointer { buffer in
            PackedMatrix(rows: k, columns: n, from: buffer.baseAddress!, ldb: tensor.shape[1], transposed: transposed)
        }
    }

    deinit { free(panels.storage) }
}

/// The packed layout of a GEMM's B operand over memory someone else owns (a ``PackedMatrix``,
/// or a planned run's scratch space when B changes per call).
///
/// K is cut into slices of ``sliceDepth`` rows; within a slice, the columns are cut into panels
/// (see ``GemmKernel/panelCount(n:)``: 32 wide, then at most two 16-wide panels for the last
/// `n % 32` columns, the final one zero-padded). A panel is stored row after row, `width`
/// floats per row, so the micro-kernel walks it with one pointer and reads a 16 KiB slice panel
/// out of L1 for every row tile of A.
struct PackedPanels {
    let storage: UnsafeMutablePointer<Float>
    /// K: rows of B.
    let rows: Int
    /// N: columns of B.
    let columns: Int
    /// Rows of B per slice.
    let sliceDepth: Int
    /// `columns` rounded up to a multiple of 16: floats per packed row of a slice.
    let paddedColumns: Int

    init(storage: UnsafeMutablePointer<Float>, rows: Int, columns: Int, sliceDepth: Int = GemmKernel.sliceDepth) {
        self.storage = storage
        self.rows = rows
        self.columns = columns
        self.sliceDepth = sliceDepth
        paddedColumns = (columns + 15) & ~15
    }

    /// Floats of storage a `rows × columns` B needs.
    static func floatCount(rows: Int, columns: Int) -> Int { max(1, rows * ((columns + 15) & ~15)) }

    /// Number of K slices (at least 1, so that `K = 0` still runs the epilogue once).
    var sliceCount: Int { max(1, (rows + sliceDepth - 1) / sliceDepth) }

    /// First row and depth of slice `s`.
    @inline(__always)
    func slice(_ s: Int) -> (start: Int, depth: Int) {
        let start = s * sliceDepth
        return (start, min(sliceDepth, rows - start))
    }

    /// Panel `p` of slice `s`: its first element; rows are ``GemmKernel/panelWidth(_:n:)`` apart.
    @inline(__always)
    func panel(slice s: Int, panel p: Int) -> UnsafePointer<Float> {
        let (start, depth) = slice(s)
        return UnsafePointer(storage + start * paddedColumns + depth * GemmKernel.panelStart(p, n: columns))
    }

    /// Fills the storage from `B[p][j] = b[p·ldb + j]` (or `b[j·ldb + p]` when `transposed`).
    func pack(from b: UnsafePointer<Float>, ldb: Int, transposed: Bool) {
        let panels = GemmKernel.panelCount(n: columns)
        for s in 0..<sliceCount {
            let (k0, depth) = slice(s)
            for p in 0..<panels {
                let j0 = GemmKernel.panelStart(p, n: columns)
                let width = GemmKernel.panelWidth(p, n: columns)
                let valid = min(width, columns - j0)
                let dst = storage + k0 * paddedColumns + depth * j0
                if transposed {
                    // Read each source row (one column of B) once, scattering it down the panel.
                    for j in 0..<width {
                        if j < valid {
                            let src = b + (j0 + j) * ldb + k0
                            for r in 0..<depth { dst[r * width + j] = src[r] }
                        } else {
                            for r in 0..<depth { dst[r * width + j] = 0 }
                        }
                    }
                } else {
                    for r in 0..<depth {
                        let src = b + (k0 + r) * ldb + j0, row = dst + r * width
                        row.update(from: src, count: valid)
                        if valid < width { (row + valid).update(repeating: 0, count: width - valid) }
                    }
                }
            }
        }
    }
}
