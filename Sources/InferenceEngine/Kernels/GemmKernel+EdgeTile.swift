extension GemmKernel {
    /// Scratch for tiles that reach past column `n`: the micro-kernels always load and store
    /// whole vectors, so such a tile runs on a private 12 × 32 copy of C (and of the bias and
    /// residual it reads), and only its valid columns are copied back.
    struct EdgeTile {
        static let stride = 32
        private let c: UnsafeMutablePointer<Float>
        private let residual: UnsafeMutablePointer<Float>
        private let bias: UnsafeMutablePointer<Float>

        /// Floats of scratch an edge tile uses.
        static let capacity = 2 * rowTile * stride + stride

        /// Lays the tile out in `buffer` (``capacity`` floats, owned by the caller). Padding
        /// lanes may hold anything: they are computed but never copied back.
        init(buffer: UnsafeMutablePointer<Float>) {
            c = buffer
            residual = c + rowTile * Self.stride
            bias = residual + rowTile * Self.stride
        }

        /// Runs `body` on the scratch tile in place of `rows × columns` of C at `target`.
        @inline(__always)
        func run(rows: Int, columns: Int, c target: UnsafeMutablePointer<Float>, ldc: Int, finish: TileFinish,
                 _ body: (UnsafeMutablePointer<Float>, Int, TileFinish) -> Void) {
            let ld = Self.stride
            var local = finish
            if finish.beta != 0 {
                for r in 0..<rows { (c + r * ld).update(from: target + r * ldc, count: columns) }
            }
            if finish.applyEpilogue {
                if let columnBias = finish.columnBias {
                    bias.update(from: columnBias, count: columns)
                    local.columnBias = UnsafePointer(bias)
                }
                if let source = finish.residual {
                    for r in 0..<rows { (residual + r * ld).update(from: source + r * finish.residualStride, count: columns) }
                    local.residual = UnsafePointer(residual)
                    local.residualStride = ld
                }
            }
            body(c, ld, local)
            for r in 0..<rows { (target + r * ldc).update(from: c + r * ld, count: columns) }
        }
    }
}
