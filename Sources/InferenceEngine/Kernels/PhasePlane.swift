/// A padded copy of one image plane, split into `stride` column phases, that lets sliding-window
/// kernels (depthwise Conv, MaxPool, AveragePool) read any tap of 16 adjacent outputs as one
/// contiguous vector with no bounds checks.
///
/// Output column `ox` at tap `kx` reads padded column `ox·stride + kx·dilation`; storing padded
/// column `i·stride + p` at phase `p`, index `i` makes that phase `(kx·dilation) % stride`,
/// index `ox + (kx·dilation) / stride`: consecutive outputs are consecutive floats. Rows are
/// padded but not split (a vertical stride just picks rows). Phase rows are exactly as long as
/// the outputs need, so small planes copy little; the last vector of a row reads on into the
/// next row (lanes whose results are never stored), and 16 floats of padding after the last row
/// keep those reads inside the buffer.
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
        width = outputs.w + ((kernel.w - 1) * dilation.w) / stride.w
        self.padTop = padTop
        self.padLeft = padLeft
    }

    /// Floats the plane occupies, with the 16 after the last row.
    var count: Int { rows * phases * width + 16 }

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
        if phases == 1 { return fillRows(plane, from: source, h: h, w: w, padding: padding) }
        if phases == 2 { return fillTwoPhases(plane, from: source, h: h, w: w, padding: padding) }
        for p in 0..<phases {
            // Index i of phase p holds input column i·phases + p - padLeft; lo..<hi lie inside the
            // row, the same for every row.
            let offset = p - padLeft
            let (lo, hi) = Self.validRange(offset: offset, stride: phases, count: width, size: w)
            for y in 0..<rows {
                let iy = y - padTop
                let dst = plane + y * rowStride + p * width
                guard iy >= 0, iy < h else {
                    for i in 0..<width { dst[i] = padding }
                    continue
                }
                let src = source + iy * w
                for i in 0..<lo { dst[i] = padding }
                var i = lo, ix = lo &* phases &+ offset
                while i < hi { dst[i] = src[ix]; i &+= 1; ix &+= phases }
                for i in hi..<width { dst[i] = padding }
            }
        }
        let end = plane + rows * rowStride
        for i in 0..<16 { end[i] = padding }
    }

    /// ``fill(_:from:h:w:padding:)`` without stride phases, in whole-vector stores: rows are
    /// written in order, so a store running past a row's end is overwritten by the next row (or
    /// lands in the 16 floats after the last one). Few, wide stores also let the vector loads
    /// that read the plane right afterwards be served without store-forwarding stalls.
    func fillRows(_ plane: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, h: Int, w: Int, padding: Float) {
        let fillVector = FastMath.Vector(repeating: padding)
        let (lo, hi) = Self.validRange(offset: -padLeft, stride: 1, count: width, size: w)
        @inline(__always) func pad(_ dst: UnsafeMutablePointer<Float>, from start: Int, to end: Int) {
            var i = start
            while i < end { FastMath.store(fillVector, dst + i); i &+= 16 }
        }
        for y in 0..<rows {
            let iy = y - padTop
            let dst = plane + y * width
            guard iy >= 0, iy < h else {
                pad(dst, from: 0, to: width)
                continue
            }
            pad(dst, from: 0, to: lo)
            Self.copy(source + iy * w + (lo - padLeft), to: dst + lo, count: hi - lo)
            pad(dst, from: hi, to: width)
        }
        FastMath.store(fillVector, plane + rows * width)
    }

    /// ``fill(_:from:h:w:padding:)`` for stride 2, the common strided case: each phase row takes
    /// the even lanes of 32 (or 16) consecutive input floats, one permute per 16 (or 8) outputs
    /// instead of a scalar move each. Loads may run past the row into the rest of the plane,
    /// never past the plane.
    func fillTwoPhases(_ plane: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, h: Int, w: Int, padding: Float) {
        for p in 0..<2 {
            let offset = p - padLeft
            let (lo, hi) = Self.validRange(offset: offset, stride: 2, count: width, size: w)
            for y in 0..<rows {
                let iy = y - padTop
                let dst = plane + y * rowStride + p * width
                guard iy >= 0, iy < h else {
                    for i in 0..<width { dst[i] = padding }
                    continue
                }
                let src = source + iy * w
                // Floats readable from the row's start: the rest of the plane.
                let readable = (h - iy) * w
                for i in 0..<lo { dst[i] = padding }
                var i = lo
                while i &+ 16 <= hi && i &* 2 &+ offset &+ 32 <= readable {
                    let v = UnsafeRawPointer(src + (i &* 2 &+ offset)).loadUnaligned(as: SIMD32<Float>.self)
                    UnsafeMutableRawPointer(dst + i).storeBytes(of: v.evenHalf, as: SIMD16<Float>.self)
                    i &+= 16
                }
                while i &+ 8 <= hi && i &* 2 &+ offset &+ 16 <= readable {
                    let v = UnsafeRawPointer(src + (i &* 2 &+ offset)).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(dst + i).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                    i &+= 8
                }
                while i < hi { dst[i] = src[i &* 2 &+ offset]; i &+= 1 }
                for i in hi..<width { dst[i] = padding }
            }
        }
        let end = plane + rows * rowStride
        for i in 0..<16 { end[i] = padding }
    }

    /// Copies `count` floats with whole-vector moves; a row of 16 or more ends with one vector
    /// that overlaps the previous one rather than a scalar tail.
    @inline(__always)
    static func copy(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        guard count >= 16 else {
            for j in 0..<count { dst[j] = src[j] }
            return
        }
        var i = 0
        while i &+ 16 <= count {
            FastMath.store(FastMath.load(src + i), dst + i)
            i &+= 16
        }
        if i < count { FastMath.store(FastMath.load(src + (count &- 16)), dst + (count &- 16)) }
    }

    /// The output columns `lo..<hi` whose input column `ox·stride + offset` lies in `0..<size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, count: Int, size: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : Swift.min(count, (-offset + stride - 1) / stride)
        let hi = size - offset <= 0 ? 0 : Swift.min(count, (size - offset + stride - 1) / stride)
        return (lo, Swift.max(hi, lo))
    }
}
