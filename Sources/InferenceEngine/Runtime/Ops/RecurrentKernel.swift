/// LSTM, GRU and RNN (default activations), forward, reverse or bidirectional.
///
/// The input projection `X·Wᵀ + b` of every time step and both directions is one GEMM before
/// the recurrence; each step then needs only `H·Rᵀ` (a `batch`-row GEMM on weights transposed
/// and padded once, see ``RecurrentWeights``) and the gate math, which runs 16 hidden units at a
/// time with ``FastMath``'s sigmoid and tanh.
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
    /// W, R and B prepared at load when they are constants; otherwise prepared per run.
    var packed: RecurrentWeights? = nil

    typealias Vector = SIMD16<Float>

    var gates: Int { isLSTM ? 4 : (isRNN ? 1 : 3) }
    var isGRU: Bool { !isLSTM && !isRNN }

    /// The GRU candidate gate under `linear_before_reset` keeps Rb inside `r ⊙ (H·Rᵀ + Rb)`.
    var separateRecurrentBiasGate: Int? { isGRU && linearBeforeReset ? 2 : nil }

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        func opt(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        var (x, xs) = try node.floats(inputs[0])
        let h = hidden, gh = gates * h
        guard xs.count == 3 else { throw node.invalid("X must be 3-D") }
        if layout == 1 {   // [batch, seq, in] → [seq, batch, in]
            let idx = Generic.viewIndices([xs[1], xs[0], xs[2]], strides: [xs[2], xs[1] * xs[2], 1])
            x = idx.map { x[$0] }
            xs = [xs[1], xs[0], xs[2]]
        }
        let seq = xs[0], batch = xs[1], inputSize = xs[2]
        let weights: RecurrentWeights
        if let packed {
            guard packed.inputSize == inputSize else { throw node.invalid("X \(xs.shapeDescription) has \(inputSize) features; W expects \(packed.inputSize)") }
            weights = packed
        } else {
            let (w, ws) = try node.floats(inputs[1])
            let (r, rs) = try node.floats(inputs[2])
            guard ws == [directions, gh, inputSize] else { throw node.invalid("W \(ws.shapeDescription) does not match X \(xs.shapeDescription)") }
            guard rs == [directions, gh, h] else { throw node.invalid("R \(rs.shapeDescription) must be \([directions, gh, h].shapeDescription)") }
            let bias = try opt(3).map { t throws(InferenceError) in try node.floats(t).values }
            if let bias, bias.count != directions * 2 * gh { throw node.invalid("B has \(bias.count) values, expected \(directions * 2 * gh)") }
            weights = RecurrentWeights(w: w, r: r, b: bias, inputSize: inputSize, hidden: h, gates: gates, directions: directions,
                                       separateRecurrentBias: separateRecurrentBiasGate)
        }
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
        _ = try node.checkedCount([seq * batch, directions * weights.gateWidth])

        var y = [Float](repeating: 0, count: seq * directions * batch * h)
        var yh = [Float](repeating: 0, count: directions * batch * h)
        var yc = [Float](repeating: 0, count: directions * batch * h)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            yh.withUnsafeMutableBufferPointer { ph in yc.withUnsafeMutableBufferPointer { pc in
                recur(px.baseAddress, weights, seq: seq, batch: batch, lengths: lengths, h0: h0, c0: c0, peepholes: peep,
                      y: py.baseAddress!, lastH: ph.baseAddress!, lastC: pc.baseAddress!)
            } }
        } }
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

    /// The recurrence proper, on padded scratch: writes Y (`[seq, directions, batch, hidden]`,
    /// zeros past each sequence's length, which the caller pre-zeroed) and the last states.
    func recur(_ x: UnsafePointer<Float>?, _ weights: RecurrentWeights, seq: Int, batch: Int, lengths: [Int],
               h0: [Float]?, c0: [Float]?, peepholes: [Float]?, y: UnsafeMutablePointer<Float>,
               lastH: UnsafeMutablePointer<Float>, lastC: UnsafeMutablePointer<Float>) {
        let h = hidden, hp = weights.paddedHidden, gp = weights.gateWidth, columns = directions * gp
        let rows = seq * batch
        // Scratch: input projection, recurrent projection, states, GRU reset product, peepholes.
        let projection = rows * columns, stateSize = batch * hp
        let total = projection + batch * gp + 3 * stateSize + stateSize + 3 * hp
        withUnsafeTemporaryAllocation(of: Float.self, capacity: total) { buffer in
            let xw = buffer.baseAddress!
            let hr = xw + projection
            let hState = hr + batch * gp, cState = hState + stateSize, reset = cState + stateSize, rh = reset + stateSize
            let peep = rh + stateSize
            weights.inputBias.withUnsafeBufferPointer { bias in
                for row in 0..<rows { (xw + row * columns).initialize(from: bias.baseAddress!, count: columns) }
            }
            if let x, weights.inputSize > 0 {
                weights.inputT.withUnsafeBufferPointer { wT in
                    GemmKernel.multiplyAccumulate(m: rows, n: columns, k: weights.inputSize, alpha: 1, a: x, lda: weights.inputSize,
                                                  b: wT.baseAddress!, ldb: columns, c: xw, ldc: columns)
                }
            }
            weights.recurrentT.withUnsafeBufferPointer { rAll in weights.recurrentBias.withUnsafeBufferPointer { rbAll in
                for d in 0..<directions {
                    let reverse = reverseOnly || d == 1
                    let rT = rAll.baseAddress! + d * hp * gp, rb = rbAll.baseAddress! + d * gp
                    // Padded lanes start (and stay) at zero.
                    hState.initialize(repeating: 0, count: 3 * stateSize + stateSize + 3 * hp)
                    for bi in 0..<batch {
                        for j in 0..<h {
                            hState[bi * hp + j] = h0?[(d * batch + bi) * h + j] ?? 0
                            cState[bi * hp + j] = c0?[(d * batch + bi) * h + j] ?? 0
                        }
                    }
                    if let peepholes {
                        for g in 0..<3 { for j in 0..<h { peep[g * hp + j] = peepholes[(d * 3 + g) * h + j] } }
                    }
                    for step in 0..<seq {
                        let t = reverse ? seq - 1 - step : step
                        // H·Rᵀ (+ the GRU candidate's Rb); a GRU without linear_before_reset needs
                        // only the update and reset columns here.
                        let recurrentColumns = isGRU && !linearBeforeReset ? 2 * hp : gp
                        for bi in 0..<batch { (hr + bi * gp).update(from: rb, count: gp) }
                        GemmKernel.multiplyAccumulate(m: batch, n: recurrentColumns, k: hp, alpha: 1, a: hState, lda: hp,
                                                      b: rT, ldb: gp, c: hr, ldc: gp)
                        if isGRU && !linearBeforeReset {
                            // (r ⊙ H)·Rhᵀ: the reset gate first, then the candidate's recurrent product.
                            for bi in 0..<batch where t < lengths[bi] {
                                resetProduct(xw + (t * batch + bi) * columns + d * gp, hr + bi * gp, hState + bi * hp, into: reset + bi * hp, hp: hp)
                            }
                            rh.initialize(repeating: 0, count: stateSize)
                            GemmKernel.multiplyAccumulate(m: batch, n: hp, k: hp, alpha: 1, a: reset, lda: hp,
                                                          b: rT + 2 * hp, ldb: gp, c: rh, ldc: hp)
                        }
                        for bi in 0..<batch where t < lengths[bi] {
                            let xo = xw + (t * batch + bi) * columns + d * gp, ho = hr + bi * gp
                            let hRow = hState + bi * hp, cRow = cState + bi * hp
                            if isLSTM {
                                lstmGates(xo, ho, hRow, cRow, peepholes: peepholes == nil ? nil : peep, hp: hp)
                            } else if isRNN {
                                rnnGate(xo, ho, hRow, hp: hp)
                            } else {
                                gruGates(xo, ho, rh + bi * hp, hRow, hp: hp)
                            }
                            (y + ((t * directions + d) * batch + bi) * h).update(from: hRow, count: h)
                        }
                    }
                    for bi in 0..<batch {
                        (lastH + (d * batch + bi) * h).update(from: hState + bi * hp, count: h)
                        (lastC + (d * batch + bi) * h).update(from: cState + bi * hp, count: h)
                    }
                }
            } }
        }
    }
}

// MARK: Gate math, 16 hidden units at a time

extension RecurrentKernel {
    @inline(__always)
    func clipped(_ v: Vector) -> Vector {
        clip > 0 ? FastMath.clamp(v, -clip, clip) : v
    }

    /// LSTM gates (ONNX order i, o, f, c) for one batch row; updates `c` and `h` in place.
    @inline(__always)
    func lstmGates(_ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ h: UnsafeMutablePointer<Float>,
                   _ c: UnsafeMutablePointer<Float>, peepholes p: UnsafePointer<Float>?, hp: Int) {
        var j = 0
        while j < hp {
            @inline(__always) func pre(_ gate: Int) -> Vector { FastMath.load(x + gate * hp + j) + FastMath.load(r + gate * hp + j) }
            let cPrev = FastMath.load(c + j)
            var iPre = pre(0), fPre = pre(2), oPre = pre(1)
            if let p {
                iPre = iPre.addingProduct(FastMath.load(p + j), cPrev)
                fPre = fPre.addingProduct(FastMath.load(p + 2 * hp + j), cPrev)
            }
            let ig = FastMath.sigmoid(clipped(iPre))
            let fg = inputForget ? 1 - ig : FastMath.sigmoid(clipped(fPre))
            let cNew = fg * cPrev + ig * FastMath.tanh(clipped(pre(3)))
            if let p { oPre = oPre.addingProduct(FastMath.load(p + hp + j), cNew) }
            let og = FastMath.sigmoid(clipped(oPre))
            FastMath.store(cNew, c + j)
            FastMath.store(og * FastMath.tanh(cNew), h + j)
            j += 16
        }
    }

    /// GRU gates (ONNX order z, r, h) for one batch row; `rh` is `(r ⊙ H)·Rhᵀ` when not
    /// `linearBeforeReset`. Updates `h` in place.
    @inline(__always)
    func gruGates(_ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ rh: UnsafePointer<Float>, _ h: UnsafeMutablePointer<Float>, hp: Int) {
        var j = 0
        while j < hp {
            let z = FastMath.sigmoid(clipped(FastMath.load(x + j) + FastMath.load(r + j)))
            let candidate: Vector
            if linearBeforeReset {
                let reset = FastMath.sigmoid(clipped(FastMath.load(x + hp + j) + FastMath.load(r + hp + j)))
                candidate = FastMath.load(x + 2 * hp + j).addingProduct(reset, FastMath.load(r + 2 * hp + j))
            } else {
                candidate = FastMath.load(x + 2 * hp + j) + FastMath.load(rh + j)
            }
            let n = FastMath.tanh(clipped(candidate))
            let hPrev = FastMath.load(h + j)
            FastMath.store(n + z * (hPrev - n), h + j)   // (1 - z)·n + z·h
            j += 16
        }
    }

    /// `r ⊙ H` for a GRU row without `linear_before_reset`.
    @inline(__always)
    func resetProduct(_ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ h: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, hp: Int) {
        var j = 0
        while j < hp {
            let reset = FastMath.sigmoid(clipped(FastMath.load(x + hp + j) + FastMath.load(r + hp + j)))
            FastMath.store(reset * FastMath.load(h + j), out + j)
            j += 16
        }
    }

    /// Elman RNN: `h = tanh(x·Wᵀ + h·Rᵀ + b)`.
    @inline(__always)
    func rnnGate(_ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ h: UnsafeMutablePointer<Float>, hp: Int) {
        var j = 0
        while j < hp {
            FastMath.store(FastMath.tanh(clipped(FastMath.load(x + j) + FastMath.load(r + j))), h + j)
            j += 16
        }
    }
}
