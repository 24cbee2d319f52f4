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
        var kernel = ConvKernel(window: window, group: Int(group))
        // Constant weights live in the kernel, where the optimizer can fold BatchNormalization into them.
        if let values = w.constant?.floats, let shape = w.constant?.shape, b == nil || b?.constant?.floats != nil {
            kernel.weights = ConvKernel.Weights(values: values, shape: shape, bias: b?.constant?.floats)
        }
        return (kernel, [spatialOutput(x.shape, channels: m, window)], [.float32])
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
