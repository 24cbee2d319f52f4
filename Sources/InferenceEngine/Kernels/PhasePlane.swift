/// A padded copy of one image plane, split into `stride` column phases, that lets sliding-window
/// kernels (depthwise Conv, MaxPool, AveragePool) read any tap of 16 adjacent outputs as one
/// contiguous vector with no bounds checks.
///
/// Output column `ox` at tap `kx` reads padded column `ox·stride + kx·dilation`; storing padded
/// column `i·stride + p` at phase `p`, index `i` makes that phase `(kx·dilation) % stride`,
/// index `ox + (kx·dilation) / stride`: consecutive outputs are consecutive floats. Rows are
/// padded but not split (a vertical stride just picks rows). Each phase row is long enough for
/// the last vector of outputs to read 16 lanes without leaving the buffer.
struct PhasePlane {
    /// Padded rows the outputs reach.
    let rows: Int
    /// Column phases (the horizontal stride).
    let phases: Int
    /// Floats per phase row.
    let width: Int
    let padTop: Int
    let padLeft: Int

    /// Geometry for `outputs` windows of `kernel` taps along each axis.
    init(outputs: (h: Int, w: Int), kernel: (h: Int, w: Int), stride: (h: Int, w: Int), dilation: (h: Int, w: Int),
         padTop: Int, padLeft: Int) {
        rows = outputs.h > 0 ? (outputs.h - 1) * stride.h + (kernel.h - 1) * dilation.h + 1 : 0
        phases = stride.w
        width = (outputs.w + 15) / 16 * 16 + ((kernel.w - 1) * dilation.w) / stride.w
        self.padTop = padTop
        self.padLeft = padLeft
    }

    /// Floats the plane occupies.
    var count: Int { rows * phases * width }

    /// Distance between padded rows.
    var rowStride: Int { phases * width }

    /// Offset of tap (`ky`, `kx`) from output (0, 0); output (oy, ox) adds `oy·strideH·rowStride + ox`.
    @inline(__always)
    func tapOffset(ky: Int, kx: Int, dilation: (h: Int, w: Int)) -> Int {
        let column = kx * dilation.w
        return ky * dilation.h * rowStride + (column % phases) * width + column / phases
    }

    /// Copies the `h × w` plane at `source` into `plane`, writing `padding` everywhere outside it.
    func fill(_ plane: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, h: Int, w: Int, padding: Float) {
        for y in 0..<rows {
            let iy = y - padTop
            let row = plane + y * rowStride
            guard iy >= 0, iy < h else {
                row.update(repeating: padding, count: rowStride)
                continue
            }
            let src = source + iy * w
            if phases == 1 {
                // Padded columns [padLeft, padLeft + w) hold the data; clip to the row.
                let lo = Swift.min(padLeft, width), hi = Swift.max(lo, Swift.min(padLeft + w, width))
                row.update(repeating: padding, count: lo)
                if hi > lo { (row + lo).update(from: src + (lo - padLeft), count: hi - lo) }
                (row + hi).update(repeating: padding, count: width - hi)
            } else {
                for p in 0..<phases {
                    let dst = row + p * width
                    var ix = p - padLeft
                    for i in 0..<width {
                        dst[i] = ix >= 0 && ix < w ? src[ix] : padding
                        ix += phases
                    }
                }
            }
        }
    }
}
