import Testing
@testable import InferenceEngine

@Suite("Vector blocks")
struct VectorBlocksTests {
    @Test func partialLoadsAndStoresTouchOnlyTheirLanes() {
        let source = (0..<32).map { Float($0 + 1) }
        for count in 0...16 {
            let v = source.withUnsafeBufferPointer { VectorBlocks.load($0.baseAddress!, count: count) }
            for lane in 0..<16 { #expect(v[lane] == (lane < count ? Float(lane + 1) : 0), "load count \(count) lane \(lane)") }
            var out = [Float](repeating: -1, count: 32)
            out.withUnsafeMutableBufferPointer { VectorBlocks.store(v, $0.baseAddress! + 8, count: count) }
            for i in 0..<32 {
                let expected: Float = i >= 8 && i < 8 + count ? Float(i - 8 + 1) : -1
                #expect(out[i] == expected, "store count \(count) index \(i)")
            }
        }
    }

    @Test(arguments: [(16, 16), (5, 16), (16, 3), (7, 11), (1, 1)])
    func transposesABlock(_ shape: (Int, Int)) {
        let (rows, columns) = shape
        let stride = 19, dstStride = 21
        let src = (0..<(16 * stride)).map { Float($0) }
        var dst = [Float](repeating: -1, count: 16 * dstStride)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                VectorBlocks.transposeBlock(s.baseAddress!, srcStride: stride, rows: rows, columns: columns,
                                            d.baseAddress!, dstStride: dstStride)
            }
        }
        for j in 0..<16 {
            for r in 0..<dstStride {
                let expected: Float = j < columns && r < rows ? src[r * stride + j] : -1
                #expect(dst[j * dstStride + r] == expected, "\(rows)x\(columns): column \(j) lane \(r)")
            }
        }
    }

    @Test(arguments: [(16, 64), (5, 25), (3, 7), (16, 40)])
    func interleavesAndDeinterleavesPlanes(_ shape: (Int, Int)) {
        let (planes, pixels) = shape
        let x = (0..<(planes * pixels)).map { Float($0) * 0.5 - 3 }
        var t = [Float](repeating: .nan, count: 16 * pixels)
        var back = [Float](repeating: .nan, count: planes * pixels)
        x.withUnsafeBufferPointer { src in
            t.withUnsafeMutableBufferPointer { VectorBlocks.interleave(src.baseAddress!, planes: planes, pixels: pixels, into: $0.baseAddress!) }
        }
        for i in 0..<pixels {
            for l in 0..<16 { #expect(t[i * 16 + l] == (l < planes ? x[l * pixels + i] : 0), "pixel \(i) lane \(l)") }
        }
        t.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBufferPointer { VectorBlocks.deinterleave(src.baseAddress!, planes: planes, pixels: pixels, into: $0.baseAddress!) }
        }
        #expect(back == x)
    }

    @Test func fillsTwoPhasePlanesLikeTheScalarDefinition() {
        // Stride-2 planes of several widths and paddings, against the definition of PhasePlane.
        for (h, w, pad, kernel) in [(16, 16, 1, 3), (9, 40, 2, 3), (5, 70, 0, 2), (7, 33, 1, 5)] {
            let oh = (h + 2 * pad - kernel) / 2 + 1, ow = (w + 2 * pad - kernel) / 2 + 1
            let plane = PhasePlane(outputs: (oh, ow), kernel: (kernel, kernel), stride: (2, 2), dilation: (1, 1), padTop: pad, padLeft: pad)
            let x = (0..<(h * w)).map { Float($0) + 1 }
            var buffer = [Float](repeating: .nan, count: plane.count)
            x.withUnsafeBufferPointer { src in
                buffer.withUnsafeMutableBufferPointer { plane.fill($0.baseAddress!, from: src.baseAddress!, h: h, w: w, padding: -7) }
            }
            for y in 0..<plane.rows {
                for p in 0..<2 {
                    for i in 0..<plane.width {
                        let iy = y - pad, ix = i * 2 + p - pad
                        let expected = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[iy * w + ix] : -7
                        #expect(buffer[y * plane.rowStride + p * plane.width + i] == expected, "\(h)x\(w) pad \(pad): row \(y) phase \(p) index \(i)")
                    }
                }
            }
        }
    }
}
