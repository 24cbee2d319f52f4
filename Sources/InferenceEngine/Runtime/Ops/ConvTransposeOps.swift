extension OperatorCompiler {
    /// ConvTranspose, 1-D and 2-D: pads or output_shape (with auto_pad), output_padding,
    /// strides, dilations, groups.
    func compileConvTranspose() throws(ModelLoadError) -> Compiled {
        try checkArity(2, 3)
        let x = try input(0, [.float32]), w = try input(1, [.float32])
        _ = try optionalInput(2, [.float32])
        let attrs = try attributes(["auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides"])
        let rank = x.shape.rank
        guard rank == 3 || rank == 4, w.shape.rank == rank else { throw fail("only 1-D and 2-D ConvTranspose is supported (X and W of rank 3 or 4)") }
        let spatial = rank - 2
        let group = try attrs.int("group", default: 1)
        guard group >= 1, group <= 1 << 20 else { throw fail("invalid group \(group)") }
        func list(_ name: String, _ value: Int, _ count: Int) throws(ModelLoadError) -> [Int] {
            guard let v = try ints(attrs, name) else { return [Int](repeating: value, count: count) }
            guard v.count == count, v.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else { throw fail("attribute '\(name)' must have \(count) values in 0...2^20") }
            return v.map { Int($0) }
        }
        let kernel: [Int]
        if let k = try ints(attrs, "kernel_shape") {
            guard k.count == spatial, k.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else { throw fail("invalid kernel_shape") }
            kernel = k.map { Int($0) }
        } else {
            guard let k = Optional(w.shape.dims[2...].compactMap(\.fixedValue)), k.count == spatial else { throw fail("kernel_shape is needed when W's shape is unknown") }
            kernel = k
        }
        let strides = try list("strides", 1, spatial), dilations = try list("dilations", 1, spatial)
        guard strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else { throw fail("strides and dilations must be ≥ 1") }
        let pads = try list("pads", 0, 2 * spatial), outputPadding = try list("output_padding", 0, spatial)
        let outputShape = try ints(attrs, "output_shape").map { $0.map { Int($0) } }
        if let o = outputShape, o.count != spatial && o.count != rank { throw fail("output_shape has \(o.count) values") }
        let autoPad = try string(attrs, "auto_pad", default: "NOTSET")
        guard ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].contains(autoPad) else { throw fail("unsupported auto_pad '\(autoPad)'") }
        let k = ConvTransposeKernel(group: Int(group), kernel: kernel, strides: strides, dilations: dilations, pads: pads,
                                    outputPadding: outputPadding, outputShape: outputShape.map { Array($0.suffix(spatial)) }, autoPad: autoPad)
        var dims: [InferredShape.Dim] = [x.shape.dims[0]]
        if let m = w.shape.dims[1].fixedValue { dims.append(.fixed(m * Int(group))) } else { dims.append(.unknown) }
        for i in 0..<spatial {
            if let n = x.shape.dims[2 + i].fixedValue { dims.append(.fixed(k.geometry(n, axis: i).out)) } else { dims.append(.unknown) }
        }
        return (k, [InferredShape(dims)], [.float32])
    }
}

struct ConvTransposeKernel: NodeKernel {
    let group: Int
    let kernel: [Int], strides: [Int], dilations: [Int], pads: [Int], outputPadding: [Int]
    let outputShape: [Int]?
    let autoPad: String

    /// Output size and begin pad along spatial axis `axis` for an input of size `n`.
    func geometry(_ n: Int, axis i: Int) -> (out: Int, begin: Int) {
        let spatial = kernel.count
        let full = strides[i] * (n - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1
        var target: Int? = outputShape?[i]
        if target == nil && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") { target = n * strides[i] }
        if let target {
            let total = full - target
            let half = total >= 0 ? total / 2 : -((-total + 1) / 2)   // floor division, as the ONNX reference
            let begin = autoPad == "SAME_UPPER" ? half : total - half
            return (target, begin)
        }
        if autoPad == "VALID" { return (full, 0) }
        return (full - pads[i] - pads[i + spatial], pads[i])
    }

    /// Sizes of one run.
    struct Dimensions: Sendable {
        var n: Int, c: Int, h: Int, w: Int
        var m: Int, mg: Int, cg: Int
        var kh: Int, kw: Int
        var oh: Int, ow: Int
        var beginY: Int, beginX: Int
        var sh: Int, sw: Int, dh: Int, dw: Int
        var outShape: [Int]
        var total: Int
    }

    /// The sizes for X's and W's shapes and B's length (nil without B).
    func dimensions(x xs: [Int], w ws: [Int], biasCount: Int?, _ node: NodeExecutor) throws(InferenceError) -> Dimensions {
        let one = kernel.count == 1
        guard xs.count == kernel.count + 2, ws.count == xs.count, ws[0] == xs[1], xs[1] % group == 0 else {
            throw node.invalid("W \(ws.shapeDescription) does not match X \(xs.shapeDescription)")
        }
        let n = xs[0], c = xs[1], h = one ? 1 : xs[2], wd = xs[xs.count - 1]
        let mg = ws[1], m = mg * group
        let kh = one ? 1 : kernel[0], kw = kernel[kernel.count - 1]
        guard (one ? ws[2] == kw : ws[2] == kh && ws[3] == kw) else { throw node.invalid("W \(ws.shapeDescription) does not match kernel_shape") }
        if let biasCount, biasCount != m { throw node.invalid("B has \(biasCount) values for \(m) channels") }
        let gy = one ? (out: 1, begin: 0) : geometry(h, axis: 0)
        let gx = geometry(wd, axis: kernel.count - 1)
        guard gy.out >= 0, gx.out >= 0 else { throw node.invalid("negative output size") }
        let outShape = one ? [n, m, gx.out] : [n, m, gy.out, gx.out]
        let total = try node.checkedCount(outShape)
        return Dimensions(n: n, c: c, h: h, w: wd, m: m, mg: mg, cg: c / group, kh: kh, kw: kw, oh: gy.out, ow: gx.out,
                          beginY: gy.begin, beginX: gx.begin, sh: one ? 1 : strides[0], sw: strides[kernel.count - 1],
                          dh: one ? 1 : dilations[0], dw: dilations[kernel.count - 1], outShape: outShape, total: total)
    }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        let (x, xs) = try node.floats(inputs[0])
        let (w, ws) = try node.floats(inputs[1])
        let bias = inputs.count > 2 && inputs[2] != nil ? try node.floats(inputs[2]).values : nil
        let d = try dimensions(x: xs, w: ws, biasCount: bias?.count, node)
        let y = node.outputFloats(d.total) { out, initialized in
            defer { initialized = d.total }
            guard let py = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in
                ConvKernel.withOptionalPointer(bias) { pb in compute(px.baseAddress, pw.baseAddress, pb, into: py, d) }
            } }
        }
        return [Tensor(shape: d.outShape, storage: .float32(y))]
    }

    /// Y = bias, then every input pixel scattered through its taps (`d.total` floats written;
    /// `x` and `w` may be nil only when empty).
    func compute(_ x: UnsafePointer<Float>?, _ w: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?,
                 into y: UnsafeMutablePointer<Float>, _ d: Dimensions) {
        let (n, c, h, wd, m, mg, cg, kh, kw, oh, ow) = (d.n, d.c, d.h, d.w, d.m, d.mg, d.cg, d.kh, d.kw, d.oh, d.ow)
        let (sh, sw, dh, dw) = (d.sh, d.sw, d.dh, d.dw)
        for b in 0..<n {
            for oc in 0..<m {
                (y + (b * m + oc) * oh * ow).initialize(repeating: bias?[oc] ?? 0, count: oh * ow)
            }
        }
        guard let x, let w else { return }
        for b in 0..<n {
            for g in 0..<group {
                for ci in 0..<cg {
                    let ic = g * cg + ci
                    for iy in 0..<h {
                        for ix in 0..<wd {
                            let xv = x[((b * c + ic) * h + iy) * wd + ix]
                            if xv == 0 { continue }
                            for o in 0..<mg {
                                let oc = g * mg + o
                                let wBase = ((ic * mg + o) * kh) * kw
                                let yBase = (b * m + oc) * oh * ow
                                for ky in 0..<kh {
                                    let oy = iy * sh - d.beginY + ky * dh
                                    if oy < 0 || oy >= oh { continue }
                                    for kx in 0..<kw {
                                        let ox = ix * sw - d.beginX + kx * dw
                                        if ox < 0 || ox >= ow { continue }
                                        y[yBase + oy * ow + ox] += xv * w[wBase + ky * kw + kx]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
