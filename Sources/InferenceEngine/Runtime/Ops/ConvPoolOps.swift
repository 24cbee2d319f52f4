/// Window geometry shared by Conv and the pooling operators, always in 2-D form (1-D inputs
/// use a height of 1).
struct Window2D: Sendable {
    enum AutoPad: String, Sendable { case notSet = "NOTSET", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER", valid = "VALID" }
    var kernel: (h: Int, w: Int)
    var stride: (h: Int, w: Int)
    var dilation: (h: Int, w: Int)
    /// Explicit pads (top, left, bottom, right), used when autoPad is notSet.
    var pads: (t: Int, l: Int, b: Int, r: Int)
    var autoPad: AutoPad
    var ceilMode: Bool
    /// 1 for 1-D operators (the H axis is synthetic).
    var spatialRank: Int

    /// Output size and the begin pad along one axis.
    func axis(_ input: Int, k: Int, s: Int, d: Int, padBegin: Int, padEnd: Int) -> (out: Int, begin: Int, end: Int) {
        let extent = (k - 1) * d + 1
        switch autoPad {
        case .valid:
            return (input >= extent ? (input - extent) / s + 1 : 0, 0, 0)
        case .sameUpper, .sameLower:
            let out = (input + s - 1) / s
            let total = Swift.max((out - 1) * s + extent - input, 0)
            let begin = autoPad == .sameUpper ? total / 2 : total - total / 2
            return (out, begin, total - begin)
        case .notSet:
            let span = input + padBegin + padEnd - extent
            if span < 0 { return (0, padBegin, padEnd) }
            var out = (ceilMode ? (span + s - 1) / s : span / s) + 1
            // A window may not start in the end padding (ONNX / onnxruntime rule for ceil_mode).
            if ceilMode, (out - 1) * s >= input + padBegin { out -= 1 }
            return (out, padBegin, padEnd)
        }
    }

    func geometry(h: Int, w: Int) -> (oh: Int, ow: Int, pt: Int, pl: Int, pb: Int, pr: Int) {
        let y = axis(h, k: kernel.h, s: stride.h, d: dilation.h, padBegin: pads.t, padEnd: pads.b)
        let x = axis(w, k: kernel.w, s: stride.w, d: dilation.w, padBegin: pads.l, padEnd: pads.r)
        return (y.out, x.out, y.begin, x.begin, y.end, x.end)
    }
}

extension OperatorCompiler {
    /// Reads kernel_shape/strides/dilations/pads/auto_pad for a 1-D or 2-D window.
    func window(_ attrs: AttributeSet, spatial: Int, kernel fromWeights: [Int]?) throws(ModelLoadError) -> Window2D {
        guard spatial == 1 || spatial == 2 else { throw fail("only 1-D and 2-D inputs are supported, got \(spatial) spatial dimensions") }
        func list(_ name: String, default value: Int, count: Int) throws(ModelLoadError) -> [Int] {
            guard let v = try ints(attrs, name) else { return [Int](repeating: value, count: count) }
            guard v.count == count else { throw fail("attribute '\(name)' has \(v.count) values, expected \(count)") }
            guard v.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else { throw fail("attribute '\(name)' has invalid values \(v)") }
            return v.map { Int($0) }
        }
        var kernel = try ints(attrs, "kernel_shape")?.map { Int($0) } ?? fromWeights
        guard let k = kernel, k.count == spatial, k.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw fail("kernel_shape is missing or invalid")
        }
        if let w = fromWeights, w != k { throw fail("kernel_shape \(k) does not match the weights \(w)") }
        kernel = k
        let strides = try list("strides", default: 1, count: spatial)
        let dilations = try list("dilations", default: 1, count: spatial)
        let pads = try list("pads", default: 0, count: 2 * spatial)
        guard strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else { throw fail("strides and dilations must be ≥ 1") }
        let autoRaw = try string(attrs, "auto_pad", default: "NOTSET")
        guard let auto = Window2D.AutoPad(rawValue: autoRaw) else { throw fail("unsupported auto_pad '\(autoRaw)'") }
        if spatial == 1 {
            return Window2D(kernel: (1, k[0]), stride: (1, strides[0]), dilation: (1, dilations[0]), pads: (0, pads[0], 0, pads[1]),
                            autoPad: auto, ceilMode: false, spatialRank: 1)
        }
        return Window2D(kernel: (k[0], k[1]), stride: (strides[0], strides[1]), dilation: (dilations[0], dilations[1]),
                        pads: (pads[0], pads[1], pads[2], pads[3]), autoPad: auto, ceilMode: false, spatialRank: 2)
    }

    func spatialOutput(_ x: InferredShape, channels: InferredShape.Dim, _ w: Window2D) -> InferredShape {
        var dims = [x.dims[0], channels]
        let sizes = Array(x.dims[2...])
        let ks = w.spatialRank == 1 ? [w.kernel.w] : [w.kernel.h, w.kernel.w]
        let ss = w.spatialRank == 1 ? [w.stride.w] : [w.stride.h, w.stride.w]
        let ds = w.spatialRank == 1 ? [w.dilation.w] : [w.dilation.h, w.dilation.w]
        let pb = w.spatialRank == 1 ? [w.pads.l] : [w.pads.t, w.pads.l]
        let pe = w.spatialRank == 1 ? [w.pads.r] : [w.pads.b, w.pads.r]
        for (i, d) in sizes.enumerated() {
            if let n = d.fixedValue { dims.append(.fixed(w.axis(n, k: ks[i], s: ss[i], d: ds[i], padBegin: pb[i], padEnd: pe[i]).out)) } else { dims.append(.unknown) }
        }
        return InferredShape(dims)
    }

    func compileConv() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 3)
        let x = try input(0, [.float32]), w = try input(1, [.float32])
        let b = try optionalInput(2, [.float32])
        let attrs = try attributes(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        guard x.shape.rank == w.shape.rank, x.shape.rank >= 3 else {
            throw fail("X \(x.shape.description) and W \(w.shape.description) must have the same rank ≥ 3")
        }
        let group = try attrs.int("group", default: 1)
        guard group >= 1, group <= 1 << 20 else { throw fail("invalid group \(group)") }
        let wk = w.shape.dims[2...].map { $0.fixedValue ?? -1 }
        let window = try self.window(attrs, spatial: x.shape.rank - 2, kernel: wk.contains(-1) ? nil : wk)
        let m = w.shape.dims[0]
        if let mv = m.fixedValue, mv % Int(group) != 0 { throw fail("\(mv) output channels are not divisible by group \(group)") }
        if let c = x.shape.dims[1].fixedValue, let cg = w.shape.dims[1].fixedValue, c != cg * Int(group) {
            throw fail("X has \(c) channels but W expects \(cg) × group \(group)")
        }
        if let b, b.shape.rank != 1 { throw fail("B must be 1-D") }
        return (ConvKernel(window: window, group: Int(group)), [spatialOutput(x.shape, channels: m, window)], [.float32])
    }

    func compilePool() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1, outputs: 1...2)
        let wantsIndices = node.outputs.count == 2 && !node.outputs[1].isEmpty
        if wantsIndices && node.opType != "MaxPool" { throw fail("only MaxPool has an Indices output") }
        let x = try input(0, [.float32])
        let isMax = node.opType == "MaxPool"
        var allowed: Set<String> = ["auto_pad", "ceil_mode", "kernel_shape", "pads", "strides", "dilations"]
        if isMax { allowed.insert("storage_order") } else { allowed.insert("count_include_pad") }
        let attrs = try attributes(allowed)
        guard x.shape.rank >= 3 else { throw fail("X must have rank ≥ 3, got \(x.shape.description)") }
        let storageOrder = isMax ? try attrs.int("storage_order", default: 0) : 0
        guard storageOrder == 0 || storageOrder == 1 else { throw fail("invalid storage_order \(storageOrder)") }
        if !isMax, opset < 19, attrs.byName["dilations"] != nil { throw fail("AveragePool dilations need opset 19") }
        var window = try self.window(attrs, spatial: x.shape.rank - 2, kernel: nil)
        window.ceilMode = try attrs.flag("ceil_mode")
        let include = isMax ? false : try attrs.flag("count_include_pad")
        let out = spatialOutput(x.shape, channels: x.shape.dims[1], window)
        return (PoolKernel(window: window, isMax: isMax, countIncludePad: include, indices: wantsIndices, columnMajor: storageOrder == 1),
                [out, out], [.float32, .int64])
    }

    func compileGlobalPool() throws(ModelLoadError) -> Compiled {
        try checkArity(1, 1)
        let x = try input(0, [.float32])
        _ = try attributes([])
        guard x.shape.rank >= 3 else { throw fail("X must have rank ≥ 3, got \(x.shape.description)") }
        let dims = Array(x.shape.dims[..<2]) + [InferredShape.Dim](repeating: .fixed(1), count: x.shape.rank - 2)
        return (GlobalPoolKernel(isMax: node.opType == "GlobalMaxPool"), [InferredShape(dims)], [.float32])
    }
}

struct ConvKernel: NodeKernel {
    let window: Window2D
    let group: Int

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let (w, ws) = try node.floats(inputs[1])
        let bias = inputs.count > 2 && inputs[2] != nil ? try node.floats(inputs[2]).values : nil
        guard xs.count == ws.count, xs.count == window.spatialRank + 2 else { throw node.invalid("X \(xs.shapeDescription) and W \(ws.shapeDescription) ranks differ") }
        let n = xs[0], c = xs[1], h = window.spatialRank == 1 ? 1 : xs[2], wd = xs[xs.count - 1]
        let m = ws[0], cg = ws[1]
        let kh = window.kernel.h, kw = window.kernel.w
        guard c == cg * group, m % group == 0 else { throw node.invalid("X has \(c) channels; W \(ws.shapeDescription) with group \(group) expects \(cg * group)") }
        guard (window.spatialRank == 1 ? ws[2] == kw : (ws[2] == kh && ws[3] == kw)) else { throw node.invalid("W \(ws.shapeDescription) does not match kernel_shape") }
        if let bias, bias.count != m { throw node.invalid("B has \(bias.count) values for \(m) output channels") }
        let g = window.geometry(h: h, w: wd)
        let oh = g.oh, ow = g.ow
        let outShape = window.spatialRank == 1 ? [n, m, ow] : [n, m, oh, ow]
        let total = try node.checkedCount(outShape)
        let mg = m / group, kDim = cg * kh * kw, spatial = oh * ow
        _ = try node.checkedCount([kDim, spatial])   // the im2col buffer
        let (sh, sw) = window.stride, (dh, dw) = window.dilation
        if cg == 1 && mg == 1 {
            return [Tensor(shape: outShape, storage: .float32(depthwise(x, w, bias, n: n, c: c, h: h, wd: wd, g: g)))]
        }
        var col = [Float](repeating: 0, count: kDim * spatial)
        let y = [Float](unsafeUninitializedCapacity: total) { out, initialized in
            initialized = total
            guard total > 0 else { return }
            let py = out.baseAddress!
            for b in 0..<n {
                for gi in 0..<group {
                    // im2col for this image and group: rows (channel, ky, kx), columns output pixels.
                    x.withUnsafeBufferPointer { px in
                        col.withUnsafeMutableBufferPointer { pc in
                            var row = 0
                            for ch in 0..<cg {
                                let plane = px.baseAddress! + ((b * c) + gi * cg + ch) * h * wd
                                for ky in 0..<kh {
                                    for kx in 0..<kw {
                                        let dst = pc.baseAddress! + row * spatial
                                        let (lo, hi) = Self.validRange(offset: kx &* dw &- g.pl, stride: sw, count: ow, size: wd)
                                        let off = kx &* dw &- g.pl
                                        for oy in 0..<oh {
                                            let iy = oy &* sh &- g.pt &+ ky &* dh
                                            let line = dst + oy &* ow
                                            if iy < 0 || iy >= h {
                                                line.update(repeating: 0, count: ow)
                                                continue
                                            }
                                            let src = plane + iy &* wd
                                            if lo > 0 { line.update(repeating: 0, count: lo) }
                                            if sw == 1 {
                                                if hi > lo { (line + lo).update(from: src + (lo &+ off), count: hi &- lo) }
                                            } else {
                                                var ox = lo
                                                while ox < hi { line[ox] = src[ox &* sw &+ off]; ox &+= 1 }
                                            }
                                            if hi < ow { (line + Swift.max(hi, lo)).update(repeating: 0, count: ow &- Swift.max(hi, lo)) }
                                        }
                                        row += 1
                                    }
                                }
                            }
                        }
                    }
                    let dst = py + (b * m + gi * mg) * spatial
                    for oc in 0..<mg {
                        let v = bias?[gi * mg + oc] ?? 0
                        (dst + oc * spatial).initialize(repeating: v, count: spatial)
                    }
                    w.withUnsafeBufferPointer { pw in
                        col.withUnsafeBufferPointer { pc in
                            GemmKernel.multiplyAccumulate(m: mg, n: spatial, k: kDim, alpha: 1,
                                                          a: pw.baseAddress! + gi * mg * kDim, lda: kDim,
                                                          b: pc.baseAddress!, ldb: spatial, c: dst, ldc: spatial)
                        }
                    }
                }
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
    }
}

extension ConvKernel {
    /// The output columns `lo..<hi` whose input column `ox·stride + offset` lies in `0..<size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, count: Int, size: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : Swift.min(count, (-offset + stride - 1) / stride)
        let hi = size - offset <= 0 ? 0 : Swift.min(count, (size - offset + stride - 1) / stride)
        return (lo, Swift.max(hi, lo))
    }

    /// Depthwise convolution (one input and one output channel per group) as a direct loop:
    /// im2col + a one-row GEMM would spend most of its time packing.
    func depthwise(_ x: [Float], _ w: [Float], _ bias: [Float]?, n: Int, c: Int, h: Int, wd: Int,
                   g: (oh: Int, ow: Int, pt: Int, pl: Int, pb: Int, pr: Int)) -> [Float] {
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        let oh = g.oh, ow = g.ow
        var y = [Float](repeating: 0, count: n * c * oh * ow)
        x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in y.withUnsafeMutableBufferPointer { py in
            for plane in 0..<(n * c) {
                let ch = plane % c
                let src = px.baseAddress! + plane * h * wd, dst = py.baseAddress! + plane * oh * ow
                let kernel = pw.baseAddress! + ch * kh * kw
                let b = bias?[ch] ?? 0
                for oy in 0..<oh {
                    let line = dst + oy &* ow
                    line.update(repeating: b, count: ow)
                    for ky in 0..<kh {
                        let iy = oy &* sh &- g.pt &+ ky &* dh
                        if iy < 0 || iy >= h { continue }
                        let row = src + iy &* wd
                        for kx in 0..<kw {
                            let weight = kernel[ky &* kw &+ kx]
                            let off = kx &* dw &- g.pl
                            let (lo, hi) = Self.validRange(offset: off, stride: sw, count: ow, size: wd)
                            var ox = lo
                            if sw == 1 {
                                while ox < hi { line[ox] += weight * row[ox &+ off]; ox &+= 1 }
                            } else {
                                while ox < hi { line[ox] += weight * row[ox &* sw &+ off]; ox &+= 1 }
                            }
                        }
                    }
                }
            }
        } } }
        return y
    }
}

struct PoolKernel: NodeKernel {
    let window: Window2D
    let isMax: Bool
    let countIncludePad: Bool
    /// MaxPool's second output: the flat index of each maximum in X (row-major, or column-major
    /// within each image plane for storage_order=1), padding not counted.
    var indices = false
    var columnMajor = false

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        guard xs.count == window.spatialRank + 2 else { throw node.invalid("X \(xs.shapeDescription) has the wrong rank") }
        let n = xs[0], c = xs[1], h = window.spatialRank == 1 ? 1 : xs[2], wd = xs[xs.count - 1]
        let g = window.geometry(h: h, w: wd)
        let oh = g.oh, ow = g.ow
        let outShape = window.spatialRank == 1 ? [n, c, ow] : [n, c, oh, ow]
        let total = try node.checkedCount(outShape)
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        if indices { return maxWithIndices(x, n: n, c: c, h: h, wd: wd, g: g, outShape: outShape, total: total) }
        let y = [Float](unsafeUninitializedCapacity: total) { out, initialized in
            initialized = total
            x.withUnsafeBufferPointer { px in
                for plane in 0..<(n * c) {
                    let src = px.baseAddress! + plane * h * wd
                    let dst = out.baseAddress! + plane * oh * ow
                    for oy in 0..<oh {
                        let y0 = oy &* sh &- g.pt
                        // Taps inside the data: ky in kyLo..<kyHi (no per-tap bounds checks below).
                        let (kyLo, kyHi) = ConvKernel.validRange(offset: y0, stride: dh, count: kh, size: h)
                        for ox in 0..<ow {
                            let x0 = ox &* sw &- g.pl
                            let (kxLo, kxHi) = ConvKernel.validRange(offset: x0, stride: dw, count: kw, size: wd)
                            if isMax {
                                var best = -Float.infinity
                                var ky = kyLo
                                while ky < kyHi {
                                    let row = src + ((y0 &+ ky &* dh) &* wd &+ x0)
                                    var kx = kxLo
                                    while kx < kxHi {
                                        let v = row[kx &* dw]
                                        if v > best || v.isNaN { best = v }
                                        kx &+= 1
                                    }
                                    ky &+= 1
                                }
                                dst[oy &* ow &+ ox] = best
                            } else {
                                var sum: Float = 0
                                var ky = kyLo
                                while ky < kyHi {
                                    let row = src + ((y0 &+ ky &* dh) &* wd &+ x0)
                                    var kx = kxLo
                                    while kx < kxHi { sum += row[kx &* dw]; kx &+= 1 }
                                    ky &+= 1
                                }
                                var count = (kyHi &- kyLo) &* (kxHi &- kxLo)
                                if countIncludePad {
                                    // onnxruntime: the window clipped to the padded extent (not to the data).
                                    let yEnd = Swift.min(y0 + (kh - 1) * dh + 1, h + g.pb), xEnd = Swift.min(x0 + (kw - 1) * dw + 1, wd + g.pr)
                                    let rows = dh == 1 ? yEnd - y0 : (yEnd - y0 + dh - 1) / dh
                                    let cols = dw == 1 ? xEnd - x0 : (xEnd - x0 + dw - 1) / dw
                                    count = Swift.max(rows * cols, 1)
                                }
                                dst[oy &* ow &+ ox] = count > 0 ? sum / Float(count) : 0
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
    }
}

extension PoolKernel {
    func maxWithIndices(_ x: [Float], n: Int, c: Int, h: Int, wd: Int, g: (oh: Int, ow: Int, pt: Int, pl: Int, pb: Int, pr: Int),
                        outShape: [Int], total: Int) -> [Tensor] {
        let (kh, kw) = window.kernel, (sh, sw) = window.stride, (dh, dw) = window.dilation
        var y = [Float](repeating: 0, count: total), where_ = [Int64](repeating: 0, count: total)
        for plane in 0..<(n * c) {
            for oy in 0..<g.oh {
                let y0 = oy * sh - g.pt
                for ox in 0..<g.ow {
                    let x0 = ox * sw - g.pl
                    var best = -Float.infinity, bestY = -1, bestX = -1
                    for ky in 0..<kh {
                        let iy = y0 + ky * dh
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kw {
                            let ix = x0 + kx * dw
                            if ix < 0 || ix >= wd { continue }
                            let v = x[(plane * h + iy) * wd + ix]
                            if bestY < 0 || v > best { best = v; bestY = iy; bestX = ix }
                        }
                    }
                    let o = (plane * g.oh + oy) * g.ow + ox
                    y[o] = best
                    let inPlane = columnMajor ? bestX * h + bestY : bestY * wd + bestX
                    where_[o] = bestY < 0 ? 0 : Int64(plane * h * wd + inPlane)
                }
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y)), Tensor(shape: outShape, storage: .int64(where_))]
    }
}

struct GlobalPoolKernel: NodeKernel {
    let isMax: Bool
    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let planes = xs[0] * xs[1], size = ShapeMath.product(xs, 2..<xs.count)
        var y = [Float](repeating: 0, count: planes)
        for p in 0..<planes {
            if isMax {
                var best = -Float.infinity
                for i in 0..<size { best = Swift.max(best, x[p * size + i]) }
                y[p] = best
            } else {
                var s: Float = 0
                for i in 0..<size { s += x[p * size + i] }
                y[p] = size > 0 ? s / Float(size) : 0
            }
        }
        return [Tensor(shape: Array(xs[..<2]) + [Int](repeating: 1, count: xs.count - 2), storage: .float32(y))]
    }
}
