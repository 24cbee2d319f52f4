import Foundation
import Testing
@testable import InferenceEngine

/// One LSTM/GRU/RNN configuration for ``RecurrentKernelTests``.
struct RecurrentCase: Sendable, CustomStringConvertible {
    enum Cell: String, Sendable { case lstm, gru, gruLinearBeforeReset, rnn }
    var name: String
    var cell: Cell
    var direction = "forward"
    var seq: Int, batch: Int, input: Int, hidden: Int
    var layout = 0
    var lengths: [Int]? = nil
    var initialStates = false
    var peepholes = false
    var clip: Float = 0
    var inputForget = false
    var bias = true
    var description: String { name }

    var directions: Int { direction == "bidirectional" ? 2 : 1 }
    var gates: Int { cell == .lstm ? 4 : (cell == .rnn ? 1 : 3) }
    var stateShape: [Int] { layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden] }
    var xShape: [Int] { layout == 0 ? [seq, batch, input] : [batch, seq, input] }
    var yShape: [Int] { layout == 0 ? [seq, directions, batch, hidden] : [batch, seq, directions, hidden] }
}

/// The recurrent kernel's row-block tiles against the ONNX definition evaluated in Double:
/// every cell type, direction and layout, batch sizes that leave partial row blocks, hidden
/// sizes below, at and past one 16-lane chunk, sequence lengths (which idle rows part-way),
/// both input-projection paths (fused into the step and one GEMM up front), weights prepared
/// at load and per run, and the intra-op pool.
@Suite("Recurrent kernel")
struct RecurrentKernelTests {
    static let cases: [RecurrentCase] = [
        RecurrentCase(name: "LSTM batch 1", cell: .lstm, seq: 7, batch: 1, input: 6, hidden: 10),
        RecurrentCase(name: "LSTM batch 5 states", cell: .lstm, seq: 4, batch: 5, input: 3, hidden: 10, initialStates: true),
        RecurrentCase(name: "LSTM hidden 16 reverse", cell: .lstm, direction: "reverse", seq: 5, batch: 4, input: 7, hidden: 16),
        RecurrentCase(name: "LSTM hidden 37 bidirectional lengths", cell: .lstm, direction: "bidirectional", seq: 6, batch: 6, input: 5,
                      hidden: 37, lengths: [6, 3, 0, 1, 6, 5], initialStates: true),
        RecurrentCase(name: "LSTM peepholes clip", cell: .lstm, seq: 5, batch: 3, input: 4, hidden: 9, initialStates: true, peepholes: true,
                      clip: 0.7),
        RecurrentCase(name: "LSTM input_forget layout 1", cell: .lstm, direction: "bidirectional", seq: 4, batch: 2, input: 3, hidden: 5,
                      layout: 1, lengths: [2, 4], initialStates: true, inputForget: true),
        RecurrentCase(name: "LSTM no bias hidden 1", cell: .lstm, seq: 3, batch: 9, input: 1, hidden: 1, bias: false),
        RecurrentCase(name: "GRU linear_before_reset bidirectional", cell: .gruLinearBeforeReset, direction: "bidirectional", seq: 6,
                      batch: 7, input: 6, hidden: 8),
        RecurrentCase(name: "GRU linear_before_reset lengths layout 1", cell: .gruLinearBeforeReset, direction: "reverse", seq: 5,
                      batch: 4, input: 3, hidden: 20, layout: 1, lengths: [5, 1, 3, 0], initialStates: true, clip: 1.5),
        RecurrentCase(name: "GRU batch 2", cell: .gru, seq: 4, batch: 2, input: 5, hidden: 12, initialStates: true),
        RecurrentCase(name: "GRU hidden 33 bidirectional lengths", cell: .gru, direction: "bidirectional", seq: 5, batch: 5, input: 4,
                      hidden: 33, lengths: [5, 2, 4, 1, 3], initialStates: true, clip: 2),
        RecurrentCase(name: "RNN batch 3", cell: .rnn, seq: 6, batch: 3, input: 5, hidden: 8, initialStates: true),
        RecurrentCase(name: "RNN hidden 17 reverse lengths", cell: .rnn, direction: "reverse", seq: 4, batch: 6, input: 2, hidden: 17,
                      lengths: [4, 4, 2, 3, 1, 4], clip: 0.9),
    ]

    struct Inputs {
        var x: [Float], w: [Float], r: [Float], b: [Float]?, h0: [Float]?, c0: [Float]?, p: [Float]?
    }

    static func random(_ count: Int, _ rng: inout SplitMix64, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 * scale }
    }

    static func inputs(_ c: RecurrentCase, seed: UInt64) -> Inputs {
        var rng = SplitMix64(seed: seed)
        let gh = c.gates * c.hidden, d = c.directions
        let state = d * c.batch * c.hidden
        return Inputs(x: random(c.seq * c.batch * c.input, &rng, scale: 2),
                      w: random(d * gh * c.input, &rng, scale: 0.6), r: random(d * gh * c.hidden, &rng, scale: 0.6),
                      b: c.bias ? random(d * 2 * gh, &rng, scale: 0.5) : nil,
                      h0: c.initialStates ? random(state, &rng) : nil,
                      c0: c.initialStates && c.cell == .lstm ? random(state, &rng) : nil,
                      p: c.peepholes ? random(d * 3 * c.hidden, &rng, scale: 0.5) : nil)
    }

    /// The ONNX definition in Double, straight from the operator's equations.
    static func reference(_ c: RecurrentCase, _ v: Inputs) -> (y: [Float], h: [Float], c: [Float]) {
        let hs = c.hidden, gh = c.gates * hs, dirs = c.directions
        var y = [Float](repeating: 0, count: c.seq * dirs * c.batch * hs)
        var lastH = [Float](repeating: 0, count: dirs * c.batch * hs), lastC = lastH
        func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        func clip(_ x: Double) -> Double { c.clip > 0 ? min(max(x, -Double(c.clip)), Double(c.clip)) : x }
        // Index helpers for the layouts.
        func xAt(_ t: Int, _ b: Int, _ k: Int) -> Double {
            Double(c.layout == 0 ? v.x[(t * c.batch + b) * c.input + k] : v.x[(b * c.seq + t) * c.input + k])
        }
        func stateIndex(_ d: Int, _ b: Int, _ j: Int) -> Int { c.layout == 0 ? (d * c.batch + b) * hs + j : (b * dirs + d) * hs + j }
        func yIndex(_ t: Int, _ d: Int, _ b: Int, _ j: Int) -> Int {
            c.layout == 0 ? ((t * dirs + d) * c.batch + b) * hs + j : ((b * c.seq + t) * dirs + d) * hs + j
        }
        for d in 0..<dirs {
            let reverse = c.direction == "reverse" || d == 1
            func w(_ row: Int, _ k: Int) -> Double { Double(v.w[(d * gh + row) * c.input + k]) }
            func r(_ row: Int, _ k: Int) -> Double { Double(v.r[(d * gh + row) * hs + k]) }
            func wb(_ row: Int) -> Double { v.b.map { Double($0[d * 2 * gh + row]) } ?? 0 }
            func rb(_ row: Int) -> Double { v.b.map { Double($0[d * 2 * gh + gh + row]) } ?? 0 }
            for b in 0..<c.batch {
                var h = (0..<hs).map { j in v.h0.map { Double($0[stateIndex(d, b, j)]) } ?? 0 }
                var cs = (0..<hs).map { j in v.c0.map { Double($0[stateIndex(d, b, j)]) } ?? 0 }
                let length = c.lengths?[b] ?? c.seq
                for step in 0..<length {
                    let t = reverse ? length - 1 - step : step
                    func xw(_ row: Int) -> Double { (0..<c.input).reduce(wb(row)) { $0 + w(row, $1) * xAt(t, b, $1) } }
                    func hr(_ row: Int, _ state: [Double]) -> Double { (0..<hs).reduce(rb(row)) { $0 + r(row, $1) * state[$1] } }
                    var next = h
                    switch c.cell {
                    case .lstm:
                        var nextC = cs
                        for j in 0..<hs {
                            let p = { (g: Int) -> Double in v.p.map { Double($0[(d * 3 + g) * hs + j]) } ?? 0 }
                            let i = sigmoid(clip(xw(j) + hr(j, h) + p(0) * cs[j]))
                            let f = c.inputForget ? 1 - i : sigmoid(clip(xw(2 * hs + j) + hr(2 * hs + j, h) + p(2) * cs[j]))
                            let candidate = Foundation.tanh(clip(xw(3 * hs + j) + hr(3 * hs + j, h)))
                            nextC[j] = f * cs[j] + i * candidate
                            let o = sigmoid(clip(xw(hs + j) + hr(hs + j, h) + p(1) * nextC[j]))
                            next[j] = o * Foundation.tanh(nextC[j])
                        }
                        cs = nextC
                    case .gru, .gruLinearBeforeReset:
                        let reset = (0..<hs).map { j in sigmoid(clip(xw(hs + j) + hr(hs + j, h))) }
                        let resetH = (0..<hs).map { reset[$0] * h[$0] }
                        for j in 0..<hs {
                            let z = sigmoid(clip(xw(j) + hr(j, h)))
                            let recurrent = c.cell == .gru ? hr(2 * hs + j, resetH) : reset[j] * hr(2 * hs + j, h)
                            let n = Foundation.tanh(clip(xw(2 * hs + j) + recurrent))
                            next[j] = (1 - z) * n + z * h[j]
                        }
                    case .rnn:
                        for j in 0..<hs { next[j] = Foundation.tanh(clip(xw(j) + hr(j, h))) }
                    }
                    h = next
                    for j in 0..<hs { y[yIndex(t, d, b, j)] = Float(h[j]) }
                }
                for j in 0..<hs {
                    lastH[stateIndex(d, b, j)] = Float(h[j])
                    lastC[stateIndex(d, b, j)] = Float(cs[j])
                }
            }
        }
        return (y, lastH, lastC)
    }

    static func kernel(_ c: RecurrentCase) -> RecurrentKernel {
        RecurrentKernel(isLSTM: c.cell == .lstm, isRNN: c.cell == .rnn, hidden: c.hidden, directions: c.directions,
                        reverseOnly: c.direction == "reverse", layout: c.layout, clip: c.clip, inputForget: c.inputForget,
                        linearBeforeReset: c.cell == .gruLinearBeforeReset)
    }

    static func run(_ kernel: RecurrentKernel, _ c: RecurrentCase, _ v: Inputs, pool: IntraOpPool? = nil) throws -> [Tensor] {
        let gh = c.gates * c.hidden, d = c.directions
        var inputs: [Tensor?] = [Tensor(shape: c.xShape, scalars: v.x), Tensor(shape: [d, gh, c.input], scalars: v.w),
                                 Tensor(shape: [d, gh, c.hidden], scalars: v.r), v.b.map { Tensor(shape: [d, 2 * gh], scalars: $0) },
                                 c.lengths.map { Tensor(shape: [c.batch], int32s: $0.map(Int32.init)) },
                                 v.h0.map { Tensor(shape: c.stateShape, scalars: $0) }]
        if c.cell == .lstm {
            inputs.append(v.c0.map { Tensor(shape: c.stateShape, scalars: $0) })
            inputs.append(v.p.map { Tensor(shape: [d, 3 * c.hidden], scalars: $0) })
        }
        let node = CompiledNode(name: "rnn", opType: c.cell == .lstm ? "LSTM" : (c.cell == .rnn ? "RNN" : "GRU"), operation: .kernel(kernel),
                                inputs: [], outputs: [0, 1, 2])
        return try kernel.run(inputs, NodeExecutor(node: node, context: ExecutionContext(pool: pool)))
    }

    static func check(_ got: [Tensor], _ c: RecurrentCase, _ expected: (y: [Float], h: [Float], c: [Float]), _ label: String) {
        #expect(got[0].shape == c.yShape, "\(c) \(label)")
        #expect(got[1].shape == c.stateShape, "\(c) \(label)")
        #expect(got.count == (c.cell == .lstm ? 3 : 2), "\(c) \(label): Y_c only for the LSTM")
        assertClose(got[0].floats ?? [], expected.y, context: "\(c) Y, \(label)")
        assertClose(got[1].floats ?? [], expected.h, context: "\(c) Y_h, \(label)")
        if c.cell == .lstm { assertClose(got[2].floats ?? [], expected.c, context: "\(c) Y_c, \(label)") }
    }

    @Test(arguments: cases)
    func matchesTheDefinition(_ c: RecurrentCase) throws {
        let v = Self.inputs(c, seed: UInt64(c.seq * 1000 + c.batch * 100 + c.hidden))
        let expected = Self.reference(c, v)
        for fused in [true, false] {
            // Weights per run (inputs 1-3), and prepared once as the compiler does for constants.
            var perRun = Self.kernel(c)
            perRun.fuseInputProjection = fused
            Self.check(try Self.run(perRun, c, v), c, expected, "per-run weights, fused \(fused)")
            var prepared = Self.kernel(c)
            prepared.packed = RecurrentWeights(w: v.w, r: v.r, b: v.b, inputSize: c.input, hidden: c.hidden, gates: c.gates,
                                               directions: c.directions, separateRecurrentBias: prepared.separateRecurrentBiasGate,
                                               fuseInput: fused)
            #expect(prepared.packed?.fusesInputProjection == fused)
            Self.check(try Self.run(prepared, c, v), c, expected, "prepared weights, fused \(fused)")
        }
    }

    @Test("row blocks and directions split over the intra-op pool", arguments: [RecurrentCase.Cell.lstm, .gru, .gruLinearBeforeReset, .rnn])
    func intraOpPool(_ cell: RecurrentCase.Cell) throws {
        let c = RecurrentCase(name: "\(cell) batch 61", cell: cell, direction: "bidirectional", seq: 9, batch: 61, input: 6, hidden: 10,
                              lengths: (0..<61).map { [9, 4, 0, 7][$0 % 4] }, initialStates: true)
        let v = Self.inputs(c, seed: 61)
        let expected = Self.reference(c, v)
        let pool = IntraOpPool(threadCount: 2)
        for fused in [true, false] {
            var kernel = Self.kernel(c)
            kernel.fuseInputProjection = fused
            kernel.parallelWork = 0
            let jobs = pool.jobCount
            Self.check(try Self.run(kernel, c, v, pool: pool), c, expected, "2 threads, fused \(fused)")
            #expect(pool.jobCount > jobs, "\(c): the recurrence should run on the pool")
        }
    }

    @Test("the input projection is fused only while one direction's Wᵀ is small")
    func fusionRule() {
        func weights(input: Int, hidden: Int) -> RecurrentWeights {
            let gh = 4 * hidden
            return RecurrentWeights(w: [Float](repeating: 0.5, count: gh * input), r: [Float](repeating: 0.5, count: gh * hidden), b: nil,
                                    inputSize: input, hidden: hidden, gates: 4, directions: 1, separateRecurrentBias: nil)
        }
        #expect(weights(input: 6, hidden: 10).fusesInputProjection)
        #expect(weights(input: 6, hidden: 10).inputPacked == nil)
        let large = weights(input: 512, hidden: 64)
        #expect(!large.fusesInputProjection)
        #expect(large.inputPacked != nil && large.inputT.isEmpty)
    }

    @Test("Y's tail stores write exactly the hidden lanes", arguments: Array(1...16))
    func prefixStores(_ count: Int) {
        let source = (0..<16).map { Float($0 + 1) }
        var target = [Float](repeating: -1, count: 20)
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in RecurrentKernel.storePrefix(from: s.baseAddress!, to: t.baseAddress! + 2, count: count) }
        }
        #expect(Array(target[2..<(2 + count)]) == Array(source[0..<count]))
        #expect(target[0..<2].allSatisfy { $0 == -1 } && target[(2 + count)...].allSatisfy { $0 == -1 })
    }
}
