#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        let kernel = RecurrentKernel(isLSTM: isLSTM, isRNN: isRNN, hidden: h, directions: dirs, reverseOnly: directionName == "reverse",
                                     layout: Int(layout), clip: clip, inputForget: inputForget, linearBeforeReset: lbr)
        return (kernel, [y, state, state], [.float32, .float32, .float32])
    }
}

struct RecurrentKernel: NodeKernel {
    let isLSTM: Bool
    /// Plain (Elman) RNN: one tanh gate.
    var isRNN = false
    let hidden: Int
    let directions: Int
    let reverseOnly: Bool
    let layout: Int
    let clip: Float
    let inputForget: Bool
    let linearBeforeReset: Bool

    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        func opt(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        var (x, xs) = try node.floats(inputs[0])
        let (w, ws) = try node.floats(inputs[1])
        let (r, rs) = try node.floats(inputs[2])
        let h = hidden, gates = isLSTM ? 4 : (isRNN ? 1 : 3), gh = gates * h
        guard xs.count == 3 else { throw node.invalid("X must be 3-D") }
        if layout == 1 {   // [batch, seq, in] → [seq, batch, in]
            let idx = Generic.viewIndices([xs[1], xs[0], xs[2]], strides: [xs[2], xs[1] * xs[2], 1])
            x = idx.map { x[$0] }
            xs = [xs[1], xs[0], xs[2]]
        }
        let seq = xs[0], batch = xs[1], inputSize = xs[2]
        guard ws == [directions, gh, inputSize] else { throw node.invalid("W \(ws.shapeDescription) does not match X \(xs.shapeDescription)") }
        guard rs == [directions, gh, h] else { throw node.invalid("R \(rs.shapeDescription) must be \([directions, gh, h].shapeDescription)") }
        let bias = try opt(3).map { t throws(InferenceError) in try node.floats(t).values }
        if let bias, bias.count != directions * 2 * gh { throw node.invalid("B has \(bias.count) values, expected \(directions * 2 * gh)") }
        var lengths = [Int](repeating: seq, count: batch)
        if let l = opt(4) {
            let v = l.storage.int64Values
            guard v.count == batch, v.allSatisfy({ $0 >= 0 && $0 <= Int64(seq) }) else {
                throw node.invalid("sequence_lens must have \(batch) values in 0...\(seq)")
            }
            lengths = v.map { Int($0) }
        }
        func state(_ t: Tensor?) throws(InferenceError) -> [Float]? {
            guard let t else { return nil }
            var (v, s) = try node.floats(t)
            let expected = layout == 0 ? [directions, batch, h] : [batch, directions, h]
            guard s == expected else { throw node.invalid("initial state \(s.shapeDescription) must be \(expected.shapeDescription)") }
            if layout == 1 { v = Generic.viewIndices([directions, batch, h], strides: [h, directions * h, 1]).map { v[$0] }; s = [directions, batch, h] }
            return v
        }
        let h0 = try state(opt(5))
        let c0 = isLSTM ? try state(opt(6)) : nil
        let peep = isLSTM ? try opt(7).map { t throws(InferenceError) in try node.floats(t).values } : nil
        if let peep, peep.count != directions * 3 * h { throw node.invalid("P has \(peep.count) values, expected \(directions * 3 * h)") }

        var y = [Float](repeating: 0, count: seq * directions * batch * h)
        var yh = [Float](repeating: 0, count: directions * batch * h)
        var yc = [Float](repeating: 0, count: directions * batch * h)
        var xw = [Float](repeating: 0, count: seq * batch * gh)
        var hr = [Float](repeating: 0, count: batch * gh)
        var rh = [Float](repeating: 0, count: batch * h)   // GRU linear_before_reset=0: (r ⊙ H) · Rhᵀ
        var scratch = [Float](repeating: 0, count: batch * h)

        for d in 0..<directions {
            let reverse = reverseOnly || d == 1
            let wT = GemmKernel.transposed(Array(w[(d * gh * inputSize)..<((d + 1) * gh * inputSize)]), rows: gh, cols: inputSize)
            let rT = GemmKernel.transposed(Array(r[(d * gh * h)..<((d + 1) * gh * h)]), rows: gh, cols: h)
            let wb = bias.map { Array($0[(d * 2 * gh)..<(d * 2 * gh + gh)]) } ?? [Float](repeating: 0, count: gh)
            let rb = bias.map { Array($0[(d * 2 * gh + gh)..<((d + 1) * 2 * gh)]) } ?? [Float](repeating: 0, count: gh)
            // X·Wᵀ + Wb for every step at once.
            for row in 0..<(seq * batch) { for j in 0..<gh { xw[row * gh + j] = wb[j] } }
            x.withUnsafeBufferPointer { px in wT.withUnsafeBufferPointer { pw in xw.withUnsafeMutableBufferPointer { pc in
                GemmKernel.multiplyAccumulate(m: seq * batch, n: gh, k: inputSize, alpha: 1, a: px.baseAddress!, lda: inputSize,
                                              b: pw.baseAddress!, ldb: gh, c: pc.baseAddress!, ldc: gh)
            } } }
            var hState = h0.map { Array($0[(d * batch * h)..<((d + 1) * batch * h)]) } ?? [Float](repeating: 0, count: batch * h)
            var cState = c0.map { Array($0[(d * batch * h)..<((d + 1) * batch * h)]) } ?? [Float](repeating: 0, count: batch * h)
            let p = peep.map { Array($0[(d * 3 * h)..<((d + 1) * 3 * h)]) }

            for step in 0..<seq {
                let t = reverse ? seq - 1 - step : step
                for bi in 0..<batch { for j in 0..<gh { hr[bi * gh + j] = rb[j] } }
                hState.withUnsafeBufferPointer { ph in rT.withUnsafeBufferPointer { pr in hr.withUnsafeMutableBufferPointer { pc in
                    GemmKernel.multiplyAccumulate(m: batch, n: gh, k: h, alpha: 1, a: ph.baseAddress!, lda: h,
                                                  b: pr.baseAddress!, ldb: gh, c: pc.baseAddress!, ldc: gh)
                } } }
                if !isLSTM && !isRNN && !linearBeforeReset {
                    // r ⊙ H first, then multiply by Rhᵀ (the last H columns of rT).
                    for bi in 0..<batch where t < lengths[bi] {
                        for j in 0..<h {
                            var rg = xw[(t * batch + bi) * gh + h + j] + hr[bi * gh + h + j]
                            if clip > 0 { rg = Swift.min(Swift.max(rg, -clip), clip) }
                            scratch[bi * h + j] = Self.sigmoid(rg) * hState[bi * h + j]
                        }
                    }
                    for bi in 0..<batch { for j in 0..<h { rh[bi * h + j] = rb[2 * h + j] } }
                    scratch.withUnsafeBufferPointer { ps in rT.withUnsafeBufferPointer { pr in rh.withUnsafeMutableBufferPointer { pc in
                        GemmKernel.multiplyAccumulate(m: batch, n: h, k: h, alpha: 1, a: ps.baseAddress!, lda: h,
                                                      b: pr.baseAddress! + 2 * h, ldb: gh, c: pc.baseAddress!, ldc: h)
                    } } }
                }
                for bi in 0..<batch {
                    guard t < lengths[bi] else { continue }
                    let xo = (t * batch + bi) * gh, ho = bi * gh
                    @inline(__always) func pre(_ gate: Int, _ j: Int) -> Float {
                        let v = xw[xo + gate * h + j] + hr[ho + gate * h + j]
                        return clip > 0 ? Swift.min(Swift.max(v, -clip), clip) : v
                    }
                    @inline(__always) func clipped(_ v: Float) -> Float { clip > 0 ? Swift.min(Swift.max(v, -clip), clip) : v }
                    for j in 0..<h {
                        let s = bi * h + j
                        if isRNN {
                            hState[s] = tanhf(pre(0, j))
                        } else if isLSTM {
                            let cPrev = cState[s]
                            var iPre = xw[xo + j] + hr[ho + j]
                            var fPre = xw[xo + 2 * h + j] + hr[ho + 2 * h + j]
                            if let p { iPre += p[j] * cPrev; fPre += p[2 * h + j] * cPrev }
                            let ig = Self.sigmoid(clipped(iPre))
                            let fg = inputForget ? 1 - ig : Self.sigmoid(clipped(fPre))
                            let cg = tanhf(pre(3, j))
                            let c = fg * cPrev + ig * cg
                            var oPre = xw[xo + h + j] + hr[ho + h + j]
                            if let p { oPre += p[h + j] * c }
                            let og = Self.sigmoid(clipped(oPre))
                            cState[s] = c
                            hState[s] = og * tanhf(c)
                        } else {
                            let z = Self.sigmoid(pre(0, j))
                            let hPre: Float
                            if linearBeforeReset {
                                let rg = Self.sigmoid(pre(1, j))
                                hPre = xw[xo + 2 * h + j] + rg * hr[ho + 2 * h + j]
                            } else {
                                hPre = xw[xo + 2 * h + j] + rh[s]
                            }
                            let hh = tanhf(clipped(hPre))
                            hState[s] = (1 - z) * hh + z * hState[s]
                        }
                        y[((t * directions + d) * batch + bi) * h + j] = hState[s]
                    }
                }
            }
            for i in 0..<(batch * h) { yh[d * batch * h + i] = hState[i]; yc[d * batch * h + i] = cState[i] }
        }
        if layout == 1 {
            // Y [seq, dirs, batch, H] → [batch, seq, dirs, H]; states [dirs, batch, H] → [batch, dirs, H].
            let yi = Generic.viewIndices([batch, seq, directions, h], strides: [h, directions * batch * h, batch * h, 1])
            let si = Generic.viewIndices([batch, directions, h], strides: [h, batch * h, 1])
            return [Tensor(shape: [batch, seq, directions, h], storage: .float32(yi.map { y[$0] })),
                    Tensor(shape: [batch, directions, h], storage: .float32(si.map { yh[$0] })),
                    Tensor(shape: [batch, directions, h], storage: .float32(si.map { yc[$0] }))]
        }
        return [Tensor(shape: [seq, directions, batch, h], storage: .float32(y)),
                Tensor(shape: [directions, batch, h], storage: .float32(yh)),
                Tensor(shape: [directions, batch, h], storage: .float32(yc))]
    }
}
