extension OperatorCompiler {
    /// LSTM and GRU: directions, layout 0/1, sequence_lens, initial states, peepholes (LSTM),
    /// input_forget (LSTM), clip, linear_before_reset (GRU). Default activations only.
    func compileRecurrent() throws(ModelLoadError) -> Compiled {
        let isLSTM = node.opType == "LSTM", isRNN = node.opType == "RNN"
        try checkArity(3, isLSTM ? 8 : 6, outputs: 1...(isLSTM ? 3 : 2))
        let x = try input(0, [.float32]), w = try input(1, [.float32]), r = try input(2, [.float32])
        let b = try optionalInput(3, [.float32])
        _ = try optionalInput(4, [.int32, .int64])
        _ = try optionalInput(5, [.float32])
        if isLSTM { _ = try optionalInput(6, [.float32]); _ = try optionalInput(7, [.float32]) }
        var allowed: Set<String> = ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"]
        if !isRNN { allowed.insert(isLSTM ? "input_forget" : "linear_before_reset") }
        let attrs = try attributes(allowed)
        let directionName = try string(attrs, "direction", default: "forward")
        guard ["forward", "reverse", "bidirectional"].contains(directionName) else { throw fail("unsupported direction '\(directionName)'") }
        let dirs = directionName == "bidirectional" ? 2 : 1
        let hidden = try attrs.int("hidden_size", default: 0)
        let gates = isLSTM ? 4 : (isRNN ? 1 : 3)
        var h = Int(hidden)
        if hidden <= 0 {
            guard let rh = r.shape.dims.last?.fixedValue else { throw fail("hidden_size is missing and R's shape is unknown") }
            h = rh
        }
        guard h > 0, h <= 1 << 16 else { throw fail("invalid hidden_size \(hidden)") }
        let layout = try attrs.int("layout", default: 0)
        guard layout == 0 || layout == 1 else { throw fail("unsupported layout \(layout)") }
        if let a = attrs.byName["activations"] {
            let names = a.strings
            let defaults = isLSTM ? ["Sigmoid", "Tanh", "Tanh"] : (isRNN ? ["Tanh"] : ["Sigmoid", "Tanh"])
            let expected = dirs == 2 ? defaults + defaults : defaults
            guard names == expected else { throw fail("activations \(names) are not supported (only the defaults \(defaults))") }
        }
        if attrs.byName["activation_alpha"] != nil || attrs.byName["activation_beta"] != nil {
            throw fail("activation_alpha/activation_beta are not supported")
        }
        let clip = try attrs.float("clip", default: 0)
        guard clip >= 0 else { throw fail("clip must be ≥ 0") }
        let inputForget = isLSTM ? try attrs.flag("input_forget") : false
        let lbr = isLSTM || isRNN ? false : try attrs.int("linear_before_reset", default: 0) != 0
        guard x.shape.rank == 3, w.shape.rank == 3, r.shape.rank == 3 else { throw fail("X, W and R must be 3-D") }
        func check(_ f: ValueFacts, _ expected: [Int?], _ what: String) throws(ModelLoadError) {
            guard f.shape.rank == expected.count else { throw fail("\(what) must have rank \(expected.count), got \(f.shape.description)") }
            for (d, e) in zip(f.shape.dims, expected) {
                if let e, let v = d.fixedValue, v != e { throw fail("\(what) has shape \(f.shape.description), expected \(expected.map { $0.map(String.init) ?? "?" })") }
            }
        }
        let inputSize = x.shape.dims[2].fixedValue
        try check(w, [dirs, gates * h, inputSize], "W")
        try check(r, [dirs, gates * h, h], "R")
        if let b { try check(b, [dirs, 2 * gates * h], "B") }
        if isLSTM, inputs.count > 7, let p = inputs[7] { try check(p, [dirs, 3 * h], "P") }
        let seq = layout == 0 ? x.shape.dims[0] : x.shape.dims[1]
        let batch = layout == 0 ? x.shape.dims[1] : x.shape.dims[0]
        let dirDim = InferredShape.Dim.fixed(dirs), hDim = InferredShape.Dim.fixed(h)
        let y = InferredShape(layout == 0 ? [seq, dirDim, batch, hDim] : [batch, seq, dirDim, hDim])
        let state = InferredShape(layout == 0 ? [dirDim, batch, hDim] : [batch, dirDim, hDim])
        var kernel = RecurrentKernel(isLSTM: isLSTM, isRNN: isRNN, hidden: h, directions: dirs, reverseOnly: directionName == "reverse",
                                     layout: Int(layout), clip: clip, inputForget: inputForget, linearBeforeReset: lbr)
        // Constant weights are transposed and padded once here instead of on every request.
        if let wv = w.constant?.floats, let rv = r.constant?.floats, let ws = w.constant?.shape, let rs = r.constant?.shape,
           ws == [dirs, gates * h, ws[2]], rs == [dirs, gates * h, h] {
            let bv = b?.constant?.floats
            if b == nil || bv?.count == dirs * 2 * gates * h {
                kernel.packed = RecurrentWeights(w: wv, r: rv, b: bv, inputSize: ws[2], hidden: h, gates: gates, directions: dirs,
                                                 separateRecurrentBias: kernel.separateRecurrentBiasGate)
            }
        }
        return (kernel, [y, state, state], [.float32, .float32, .float32])
    }
}

