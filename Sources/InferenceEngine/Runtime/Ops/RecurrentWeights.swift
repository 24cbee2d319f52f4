/// LSTM/GRU/RNN weights rearranged for the kernel: transposed into GEMM `B` operands, with each
/// gate's hidden block padded to whole 16-float vectors and the biases folded.
///
/// Padding makes every gate block start on a vector and every row of the gate math a whole
/// number of `SIMD16` operations; the padded columns and rows are zero, so padded lanes of the
/// state stay exactly 0 (σ(0)·0 + …, tanh(0) = 0) and never reach the real lanes.
///
/// A class: the kernel (copied with its node on every run) then retains one object, not five.
final class RecurrentWeights: Sendable {
    let inputSize: Int
    let hidden: Int
    /// `hidden` rounded up to a multiple of 16.
    let paddedHidden: Int
    let gates: Int
    let directions: Int

    /// Whether the step kernel computes `x·Wᵀ` itself, row block by row block, instead of one
    /// GEMM over every time step first. True when one direction's `Wᵀ` is small enough to stay
    /// in L1/L2 across steps (every zoo model): no projection buffer is written and read back,
    /// and no GEMM call is paid per run.
    let fusesInputProjection: Bool
    /// `[inputSize, directions · gates · paddedHidden]` when ``fusesInputProjection``, else
    /// empty: the step kernel's `B` for the input rows.
    let inputT: [Float]
    /// The same matrix packed for the SGEMM when the projection is not fused, else nil:
    /// `X · inputPacked` is every direction's input projection for every time step at once.
    let inputPacked: PackedMatrix?
    /// Added to the input projection: Wb + Rb, except the GRU's `linear_before_reset` candidate
    /// gate, whose Rb must stay inside `r ⊙ (H·Rᵀ + Rb)` (see ``recurrentBias``).
    let inputBias: [Float]
    /// Per direction `[paddedHidden, gates · paddedHidden]`: `H · recurrentT` for one step.
    let recurrentT: [Float]
    /// Per direction `[gates · paddedHidden]`, added to `H · recurrentT`; zero except for the
    /// GRU candidate gate with `linear_before_reset`.
    let recurrentBias: [Float]

    /// Columns of one direction in the projections.
    var gateWidth: Int { gates * paddedHidden }

    /// Largest `inputSize · gates · paddedHidden` (floats of one direction's `Wᵀ`) for which the
    /// input projection is fused into the step kernel: 64 KiB, half of it re-read per step.
    static let fusedInputLimit = 16_384

    /// - Parameters:
    ///   - w: `[directions, gates·hidden, inputSize]`; `r`: `[directions, gates·hidden, hidden]`;
    ///     `b`: `[directions, 2·gates·hidden]` (Wb then Rb) or nil.
    ///   - separateRecurrentBias: the gate whose Rb is not folded into ``inputBias``, if any.
    ///   - fuseInput: overrides the size rule for ``fusesInputProjection`` (tests use it to
    ///     cover both paths).
    init(w: [Float], r: [Float], b: [Float]?, inputSize: Int, hidden: Int, gates: Int, directions: Int, separateRecurrentBias gate: Int?,
         fuseInput: Bool? = nil) {
        self.inputSize = inputSize
        self.hidden = hidden
        self.gates = gates
        self.directions = directions
        let hp = Self.padded(hidden), gp = gates * hp
        paddedHidden = hp
        let columns = directions * gp
        let fused = Self.fuses(inputSize: inputSize, gateWidth: gp, override: fuseInput)
        fusesInputProjection = fused
        var inputT = [Float](repeating: 0, count: inputSize * columns)
        var inputBias = [Float](repeating: 0, count: columns)
        var recurrentT = [Float](repeating: 0, count: directions * hp * gp)
        var recurrentBias = [Float](repeating: 0, count: columns)
        w.withUnsafeBufferPointer { w in r.withUnsafeBufferPointer { r in (b ?? []).withUnsafeBufferPointer { bias in
            inputT.withUnsafeMutableBufferPointer { inputT in inputBias.withUnsafeMutableBufferPointer { inputBias in
                recurrentT.withUnsafeMutableBufferPointer { recurrentT in recurrentBias.withUnsafeMutableBufferPointer { recurrentBias in
                    Self.arrange(w: w.baseAddress, r: r.baseAddress!, b: b == nil ? nil : bias.baseAddress, inputSize: inputSize, hidden: hidden,
                                 gates: gates, directions: directions, separateRecurrentBias: gate,
                                 into: Arranged(inputT: inputT.baseAddress, inputBias: inputBias.baseAddress!,
                                                recurrentT: recurrentT.baseAddress!, recurrentBias: recurrentBias.baseAddress!))
                } }
            } }
        } } }
        if fused {
            self.inputT = inputT
            inputPacked = nil
        } else {
            inputPacked = inputT.withUnsafeBufferPointer { PackedMatrix(rows: inputSize, columns: columns, from: $0.baseAddress!, ldb: columns) }
            self.inputT = []
        }
        self.inputBias = inputBias
        self.recurrentT = recurrentT
        self.recurrentBias = recurrentBias
    }

    /// `hidden` rounded up to whole 16-float vectors.
    static func padded(_ hidden: Int) -> Int { (hidden + 15) / 16 * 16 }

    /// Whether one direction's `Wᵀ` (`inputSize × gateWidth` floats) is small enough to fuse the
    /// input projection into the step kernel (see ``fusesInputProjection``).
    static func fuses(inputSize: Int, gateWidth: Int, override: Bool?) -> Bool {
        inputSize == 0 || (override ?? (inputSize * gateWidth <= fusedInputLimit))
    }

    /// Where ``arrange(w:r:b:inputSize:hidden:gates:directions:separateRecurrentBias:into:)``
    /// writes: the layouts of ``inputT``, ``inputBias``, ``recurrentT`` and ``recurrentBias``.
    struct Arranged {
        var inputT: UnsafeMutablePointer<Float>?
        var inputBias: UnsafeMutablePointer<Float>
        var recurrentT: UnsafeMutablePointer<Float>
        var recurrentBias: UnsafeMutablePointer<Float>
    }

    /// Transposes, pads and folds W, R and B into `target` (every element written, padding
    /// zeroed). The load-time preparation and a planned run with weights that are request
    /// inputs share it, so both multiply the same operands.
    static func arrange(w: UnsafePointer<Float>?, r: UnsafePointer<Float>, b: UnsafePointer<Float>?, inputSize: Int, hidden: Int,
                        gates: Int, directions: Int, separateRecurrentBias gate: Int?, into target: Arranged) {
        let hp = padded(hidden), gh = gates * hidden, gp = gates * hp
        let columns = directions * gp
        if inputSize > 0, let inputT = target.inputT { inputT.update(repeating: 0, count: inputSize * columns) }
        target.inputBias.update(repeating: 0, count: columns)
        target.recurrentT.update(repeating: 0, count: directions * hp * gp)
        target.recurrentBias.update(repeating: 0, count: columns)
        for d in 0..<directions {
            for g in 0..<gates {
                for j in 0..<hidden {
                    let row = d * gh + g * hidden + j          // row of W and R
                    let column = d * gp + g * hp + j            // column of the packed operands
                    if let w, let inputT = target.inputT {
                        for k in 0..<inputSize { inputT[k * columns + column] = w[row * inputSize + k] }
                    }
                    for k in 0..<hidden { target.recurrentT[(d * hp + k) * gp + g * hp + j] = r[row * hidden + k] }
                    if let b {
                        let wb = b[d * 2 * gh + g * hidden + j], rb = b[d * 2 * gh + gh + g * hidden + j]
                        if g == gate {
                            target.inputBias[column] = wb
                            target.recurrentBias[column] = rb
                        } else {
                            target.inputBias[column] = wb + rb
                        }
                    }
                }
            }
        }
    }
}
