/// LSTM, GRU and RNN (default activations), forward, reverse or bidirectional, layout 0 or 1.
///
/// Batch rows never interact, so the recurrence runs one block of up to four rows through every
/// time step at a time (``block(_:_:_:direction:row0:)``): per step and 16 hidden units, one
/// register tile of up to 4 rows × 4 gates accumulates `x·Wᵀ` (or reads the input projection
/// when it was one GEMM up front, see ``RecurrentWeights/fusesInputProjection``) and `H·Rᵀ`,
/// then the gate math runs on the tile while it is in registers and writes the state and Y
/// once. The state stays in a few hundred bytes of scratch per block, blocks and directions are
/// independent tasks for the intra-op pool, and the layouts are strides, so nothing is
/// transposed or copied around the recurrence.
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
    /// Overrides ``RecurrentWeights/fusesInputProjection``'s size rule for weights prepared per
    /// run (tests cover both input-projection paths with it).
    var fuseInputProjection: Bool? = nil

    typealias Vector = SIMD16<Float>

    var gates: Int { isLSTM ? 4 : (isRNN ? 1 : 3) }
    var isGRU: Bool { !isLSTM && !isRNN }

    /// The GRU candidate gate under `linear_before_reset` keeps Rb inside `r ⊙ (H·Rᵀ + Rb)`.
    var separateRecurrentBiasGate: Int? { isGRU && linearBeforeReset ? 2 : nil }

    /// Rows of a register tile: 4 rows × 4 gates of `SIMD16` accumulators is 16 of AVX-512's 32
    /// vector registers, leaving room for the weight vectors and broadcasts. Without AVX-512
    /// (``RegisterTiling/compact``) each accumulator is two of AVX2's 16 ymm registers, so 2
    /// rows (16 registers, the weights read as FMA memory operands).
    static let blockRows = RegisterTiling.native == .wide ? 4 : 2

    /// Estimated work (multiply-adds plus gate math, per lane) below which one run stays on the
    /// calling thread. Measured on the 2-vCPU development machine with lstm_stacked_states at
    /// 2 threads (µs, split over the pool / on the caller alone): batch 64 87 / 84 (p90 208 /
    /// 87), 256 386 / 323, 512 803 / 691, 1024 960 / 1460 (work 2.3M, 4.6M, 9.2M, 18M). Its
    /// two vCPUs do not scale like cores (two single-threaded numpy matmul processes each run
    /// at 55 % speed), so only large recurrences gain from the second thread.
    static let parallelWork = 1 << 24
    /// ``parallelWork`` for this node (tests lower it to exercise the pool on small shapes).
    var parallelWork = RecurrentKernel.parallelWork

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        for i in 0..<8 where i != 4 && (i == 0 || input(i) != nil) {
            guard input(i)?.elementType == .float32 else {
                throw .internalFailure("node '\(node.node.name)' (\(node.node.opType)): missing or non-float input")
            }
        }
        let g = try geometry({ input($0)?.shape }, used: (true, true, isLSTM), invalid: node.invalid)
        let p = g.plan
        _ = try node.checkedCount([p.seq, directions, p.batch, hidden])
        if g.projection >= 0 { _ = try node.checkedCount([p.seq * p.batch, p.columns]) }
        let stateCount = directions * p.batch * hidden
        var yh = [Float](repeating: 0, count: stateCount)
        // GRU and RNN have no cell state (and at most two outputs): no Y_c array for them.
        var yc: [Float] = isLSTM ? [Float](repeating: 0, count: stateCount) : []
        var valid = true
        let y = [Float](uninitializedCount: g.yCount) { yBuffer, initialized in
            yh.withUnsafeMutableBufferPointer { ph in yc.withUnsafeMutableBufferPointer { pc in
                Self.bytes(input(0)) { x in Self.bytes(input(1)) { w in Self.bytes(input(2)) { r in Self.bytes(input(3)) { b in
                    Self.bytes(input(4)) { lengths in Self.bytes(input(5)) { h0 in Self.bytes(input(6)) { c0 in Self.bytes(input(7)) { p in
                        withUnsafeTemporaryAllocation(byteCount: g.workspaceFloats * MemoryLayout<Float>.stride,
                                                      alignment: ArenaLayout.alignment) { workspace in
                            func f(_ raw: UnsafeRawPointer?) -> UnsafePointer<Float>? { raw?.assumingMemoryBound(to: Float.self) }
                            var pointers = RunPointers()
                            (pointers.x, pointers.w, pointers.r, pointers.b) = (f(x), f(w), f(r), f(b))
                            (pointers.lengths, pointers.lengthsAreInt64) = (lengths, input(4)?.elementType == .int64)
                            (pointers.h0, pointers.c0, pointers.p) = (f(h0), f(c0), f(p))
                            (pointers.y, pointers.lastH, pointers.lastC) = (yBuffer.baseAddress, ph.baseAddress, pc.baseAddress)
                            valid = compute(g, pointers, workspace: workspace.baseAddress!.bindMemory(to: Float.self, capacity: g.workspaceFloats),
                                            pool: node.context.pool)
                        }
                    } } } }
                } } } }
            } }
            initialized = g.yCount
        }
        guard valid else { throw node.invalid(Self.lengthsMessage(p)) }
        let yShape = layout == 0 ? [p.seq, directions, p.batch, hidden] : [p.batch, p.seq, directions, hidden]
        let stateShape = layout == 0 ? [directions, p.batch, hidden] : [p.batch, directions, hidden]
        let yTensor = Tensor(shape: yShape, storage: .float32(y)), hTensor = Tensor(shape: stateShape, storage: .float32(yh))
        guard isLSTM else { return [yTensor, hTensor] }
        return [yTensor, hTensor, Tensor(shape: stateShape, storage: .float32(yc))]
    }

    static func lengthsMessage(_ p: Plan) -> String { "sequence_lens must have \(p.batch) values in 0...\(p.seq)" }

    /// The address of a tensor's elements (nil when omitted) for the duration of `body`.
    @inline(__always)
    private static func bytes(_ tensor: Tensor?, _ body: (UnsafeRawPointer?) -> Void) {
        guard let tensor else { return body(nil) }
        tensor.withUnsafeBytes { body($0.baseAddress) }
    }

    /// A run's sizes, strides and workspace, worked out from the input shapes alone: per
    /// request by the general executor, once per shape by a plan.
    struct Geometry {
        /// Sizes and strides; the run fills in the pointers.
        var plan: Plan
        var yCount: Int
        /// Offsets in floats into the workspace, each on a 64-byte boundary; -1 where not needed.
        /// W, R and B rearranged when they are request inputs (see ``RecurrentWeights/arrange``):
        var inputT = -1, inputBias = -1, recurrentT = -1, recurrentBias = -1
        /// Peepholes padded to `paddedHidden` per gate.
        var peepholes = -1
        /// The input projection of every time step when it is not fused, and the GEMM's copy of B.
        var projection = -1, gemm = -1
        /// One state area of `stateFloats` per (direction, row block) task.
        var states = 0, stateFloats = 0
        /// `batch` Ints: the sequence lengths.
        var lengths = -1
        /// Where Y (one time step's worth), Y_h and Y_c go when nothing reads them.
        var yDump = -1, hDump = -1, cDump = -1
        var workspaceFloats = 0
    }

    /// Checks the input shapes (`shape(i)` nil: input `i` omitted) and lays a run out. `used`
    /// says which outputs the caller keeps; the others are written to the workspace.
    func geometry(_ shape: (Int) -> [Int]?, used: (y: Bool, h: Bool, c: Bool),
                  invalid: (String) -> InferenceError) throws(InferenceError) -> Geometry {
        func count(_ s: [Int]) -> Int { ShapeMath.product(s, 0..<s.count) }
        let h = hidden, gh = gates * h
        guard let xs = shape(0), xs.count == 3 else { throw invalid("X must be 3-D") }
        let seq = layout == 0 ? xs[0] : xs[1], batch = layout == 0 ? xs[1] : xs[0], inputSize = xs[2]
        if let packed {
            guard packed.inputSize == inputSize else { throw invalid("X \(xs.shapeDescription) has \(inputSize) features; W expects \(packed.inputSize)") }
        } else {
            let ws = shape(1) ?? [], rs = shape(2) ?? []
            guard ws == [directions, gh, inputSize] else { throw invalid("W \(ws.shapeDescription) does not match X \(xs.shapeDescription)") }
            guard rs == [directions, gh, h] else { throw invalid("R \(rs.shapeDescription) must be \([directions, gh, h].shapeDescription)") }
            if let bs = shape(3), count(bs) != directions * 2 * gh { throw invalid("B has \(count(bs)) values, expected \(directions * 2 * gh)") }
        }
        var plan = Plan(seq: seq, batch: batch, inputSize: inputSize, hidden: h, hp: RecurrentWeights.padded(h), gp: 0,
                        directions: directions, reverseOnly: reverseOnly, clip: clip, inputForget: inputForget)
        if let ls = shape(4), count(ls) != batch { throw invalid(Self.lengthsMessage(plan)) }
        // States are [directions, batch, hidden] (layout 0) or [batch, directions, hidden].
        let stateShape = layout == 0 ? [directions, batch, h] : [batch, directions, h]
        for i in 5...(isLSTM ? 6 : 5) {
            if let s = shape(i), s != stateShape { throw invalid("initial state \(s.shapeDescription) must be \(stateShape.shapeDescription)") }
        }
        if isLSTM, let ps = shape(7), count(ps) != directions * 3 * h { throw invalid("P has \(count(ps)) values, expected \(directions * 3 * h)") }

        let hp = plan.hp, gp = gates * hp, columns = directions * gp
        plan.gp = gp
        plan.columns = columns
        plan.fused = packed?.fusesInputProjection ?? RecurrentWeights.fuses(inputSize: inputSize, gateWidth: gp, override: fuseInputProjection)
        // Strides of X, Y and the states in the requested layout.
        if layout == 0 {
            (plan.xT, plan.xB) = (batch * inputSize, inputSize)
            (plan.yT, plan.yD, plan.yB) = (directions * batch * h, batch * h, h)
            (plan.sD, plan.sB) = (batch * h, h)
        } else {
            (plan.xT, plan.xB) = (inputSize, seq * inputSize)
            (plan.yT, plan.yD, plan.yB) = (directions * h, h, seq * directions * h)
            (plan.sD, plan.sB) = (h, directions * h)
        }
        plan.blocks = (batch + Self.blockRows - 1) / Self.blockRows
        var g = Geometry(plan: plan, yCount: seq * directions * batch * h)
        var floats = 0
        func reserve(_ count: Int) -> Int {
            defer { floats += (count + 15) / 16 * 16 }
            return floats
        }
        if packed == nil {
            g.inputT = reserve(inputSize * columns)
            g.inputBias = reserve(columns)
            g.recurrentT = reserve(directions * hp * gp)
            g.recurrentBias = reserve(columns)
        }
        if isLSTM && shape(7) != nil { g.peepholes = reserve(directions * 3 * hp) }
        let rows = seq * batch
        if !plan.fused && rows > 0 {
            g.projection = reserve(rows * columns)
            if packed == nil { g.gemm = reserve(GemmKernel.workspaceFloats(m: rows, n: columns, k: inputSize)) }
        }
        // H twice, C, and the GRU's z, candidate input and r ⊙ H, for `blockRows` rows; then 16 gate vectors.
        g.stateFloats = 6 * Self.blockRows * hp + 256
        g.states = reserve(directions * plan.blocks * g.stateFloats)
        if shape(4) != nil { g.lengths = reserve(batch * MemoryLayout<Int>.stride / MemoryLayout<Float>.stride) }
        let stateCount = directions * batch * h
        if !used.y { g.yDump = reserve(stateCount) }
        if !used.h { g.hDump = reserve(stateCount) }
        if isLSTM && !used.c { g.cDump = reserve(stateCount) }
        g.workspaceFloats = max(floats, 16)
        return g
    }

    /// The memory of one run: inputs (nil when omitted or empty) and outputs (nil when not kept).
    struct RunPointers {
        var x: UnsafePointer<Float>?
        var w: UnsafePointer<Float>?, r: UnsafePointer<Float>?, b: UnsafePointer<Float>?
        var lengths: UnsafeRawPointer?, lengthsAreInt64 = false
        var h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?, p: UnsafePointer<Float>?
        var y: UnsafeMutablePointer<Float>?, lastH: UnsafeMutablePointer<Float>?, lastC: UnsafeMutablePointer<Float>?
    }

    /// One run on raw memory: what the general executor's `run` and the planned `execute`
    /// both do. Reads and checks the sequence lengths, rearranges weights that are request
    /// inputs and pads the peepholes into the workspace, then runs ``recur(_:packedInput:_:workspace:pool:)``.
    /// Returns false, having written nothing, when a sequence length is out of range.
    func compute(_ g: Geometry, _ io: RunPointers, workspace: UnsafeMutablePointer<Float>, pool: IntraOpPool?) -> Bool {
        var plan = g.plan
        let seq = plan.seq, batch = plan.batch, h = hidden, hp = plan.hp
        if g.lengths >= 0, let raw = io.lengths {
            let lengths = UnsafeMutableRawPointer(workspace + g.lengths).bindMemory(to: Int.self, capacity: batch)
            var short = false
            for i in 0..<batch {
                let v = io.lengthsAreInt64 ? raw.load(fromByteOffset: i * 8, as: Int64.self) : Int64(raw.load(fromByteOffset: i * 4, as: Int32.self))
                guard v >= 0, v <= Int64(seq) else { return false }
                lengths[i] = Int(v)
                if v != Int64(seq) { short = true }
            }
            // nil when every sequence is full length (no row ever idles).
            if short { plan.lengths = UnsafePointer(lengths) }
        }
        if let y = io.y {
            // Steps past a sequence's length leave zeros in Y; otherwise every element is written.
            if plan.lengths != nil { y.update(repeating: 0, count: g.yCount) }
            plan.y = y
        } else {
            // Every step overwrites the same [directions, batch, hidden] block.
            plan.y = workspace + g.yDump
            (plan.yT, plan.yD, plan.yB) = (0, batch * h, h)
        }
        plan.lastH = io.lastH ?? workspace + g.hDump
        plan.lastC = isLSTM ? io.lastC ?? workspace + g.cDump : nil
        plan.x = io.x
        plan.h0 = io.h0
        plan.c0 = isLSTM ? io.c0 : nil
        plan.states = workspace + g.states
        plan.stateFloats = g.stateFloats
        if isLSTM, let p = io.p, g.peepholes >= 0 {
            let padded = workspace + g.peepholes
            padded.update(repeating: 0, count: directions * 3 * hp)
            for d in 0..<directions { for gate in 0..<3 { (padded + (d * 3 + gate) * hp).update(from: p + (d * 3 + gate) * h, count: h) } }
            plan.peepholes = UnsafePointer(padded)
        }
        if let packed {
            packed.recurrentT.withUnsafeBufferPointer { rT in packed.recurrentBias.withUnsafeBufferPointer { rb in
                packed.inputBias.withUnsafeBufferPointer { bias in packed.inputT.withUnsafeBufferPointer { wT in
                    plan.recurrentT = rT.baseAddress
                    plan.recurrentBias = rb.baseAddress
                    plan.inputBias = bias.baseAddress
                    plan.inputT = wT.baseAddress
                    recur(plan, packedInput: packed.inputPacked, g, workspace: workspace, pool: pool)
                } }
            } }
        } else if let r = io.r {
            let target = RecurrentWeights.Arranged(inputT: workspace + g.inputT, inputBias: workspace + g.inputBias,
                                                   recurrentT: workspace + g.recurrentT, recurrentBias: workspace + g.recurrentBias)
            RecurrentWeights.arrange(w: io.w, r: r, b: io.b, inputSize: plan.inputSize, hidden: h, gates: gates, directions: directions,
                                     separateRecurrentBias: separateRecurrentBiasGate, into: target)
            plan.inputT = UnsafePointer(target.inputT)
            plan.inputBias = UnsafePointer(target.inputBias)
            plan.recurrentT = UnsafePointer(target.recurrentT)
            plan.recurrentBias = UnsafePointer(target.recurrentBias)
            recur(plan, packedInput: nil, g, workspace: workspace, pool: pool)
        }
        return true
    }

    /// The recurrence proper: the input projection first when it is not fused (one GEMM for
    /// every time step and direction, bias in its epilogue), then every (direction, row block) task.
    func recur(_ plan: Plan, packedInput: PackedMatrix?, _ g: Geometry, workspace: UnsafeMutablePointer<Float>, pool: IntraOpPool?) {
        var plan = plan
        let blocks = plan.blocks
        let tasks = directions * blocks
        let inputWork = plan.fused ? plan.inputSize : 0
        let work = plan.seq * plan.batch * directions * (inputWork + plan.hidden + 24) * plan.gp
        let parallel = pool.map { $0.threadCount > 1 } == true && tasks > 1 && work >= parallelWork
        let cell: CellKind = isLSTM ? .lstm : (isRNN ? .rnn : (linearBeforeReset ? .gruLinearBeforeReset : .gru))

        let rows = plan.seq * plan.batch
        if !plan.fused, g.projection >= 0, let x = plan.x, let bias = plan.inputBias {
            let xw = workspace + g.projection
            var epilogue = GemmEpilogue()
            epilogue.bias = bias
            if let packedInput {
                GemmKernel.multiply(m: rows, n: plan.columns, k: plan.inputSize, a: x, lda: plan.inputSize, b: packedInput, beta: 0,
                                    c: xw, ldc: plan.columns, epilogue: epilogue, pool: parallel ? pool : nil)
            } else if let inputT = plan.inputT {
                GemmKernel.multiplyAccumulate(m: rows, n: plan.columns, k: plan.inputSize, alpha: 1, a: x, lda: plan.inputSize, b: inputT,
                                              ldb: plan.columns, c: xw, ldc: plan.columns, beta: 0, epilogue: epilogue,
                                              pool: parallel ? pool : nil, workspace: g.gemm >= 0 ? workspace + g.gemm : nil)
            }
            plan.xw = UnsafePointer(xw)
            plan.xwT = plan.xT / plan.inputSize * plan.columns
            plan.xwB = plan.xB / plan.inputSize * plan.columns
        } else {
            plan.fused = true
        }

        // A constant for the tasks: a captured var would be boxed on the heap.
        let tasksPlan = plan
        // One contiguous run of (direction, row block) tasks per thread: blocks handed out one
        // at a time interleave the threads' rows, and the Y rows they write every step then
        // share cache lines (false sharing made 2 threads slower than 1).
        IntraOpPool.forEachChunk(of: tasks, on: pool, worthSplitting: parallel) { chunk in
            for task in chunk {
                let d = task / blocks, row0 = (task % blocks) * Self.blockRows
                Self.dispatch(cell, rows: min(Self.blockRows, tasksPlan.batch - row0), tasksPlan, direction: d, row0: row0)
            }
        }
    }
}

// MARK: Per-run plan and specialisations

extension RecurrentKernel {
    enum CellKind { case lstm, gru, gruLinearBeforeReset, rnn }

    /// Gate math of one cell type, as a type so each (cell, rows) block is its own
    /// specialisation with the cell's branches folded away.
    ///
    /// Tile slots fed by the input and by the state: LSTM i, o, f, c; GRU z, r, candidate
    /// (input part in slot 2, under `linear_before_reset` the recurrent part in slot 3); RNN one.
    protocol Cell {
        associatedtype InputSlots: Slots
        associatedtype StateSlots: Slots
        static var kind: CellKind { get }
    }
    enum LSTMCell: Cell {
        typealias InputSlots = SlotsAll
        typealias StateSlots = SlotsAll
        static var kind: CellKind { .lstm }
    }
    enum GRUCell: Cell {
        typealias InputSlots = Slots012
        typealias StateSlots = Slots01
        static var kind: CellKind { .gru }
    }
    enum GRULinearBeforeResetCell: Cell {
        typealias InputSlots = Slots012
        typealias StateSlots = Slots013
        static var kind: CellKind { .gruLinearBeforeReset }
    }
    enum RNNCell: Cell {
        typealias InputSlots = Slots0
        typealias StateSlots = Slots0
        static var kind: CellKind { .rnn }
    }

    /// Everything a block task reads: sizes, the weights' and the run's pointers and the
    /// strides of X (in floats per time step `xT` and per batch row `xB`), the projection, Y
    /// (`yT`, per direction `yD`, `yB`) and the states (`sD`, `sB`).
    struct Plan {
        var seq: Int, batch: Int, inputSize: Int, hidden: Int, hp: Int, gp: Int, directions: Int
        var reverseOnly: Bool, clip: Float, inputForget: Bool
        var columns = 0
        var fused = true
        var x: UnsafePointer<Float>? = nil, xT = 0, xB = 0
        var xw: UnsafePointer<Float>? = nil, xwT = 0, xwB = 0
        var inputT: UnsafePointer<Float>? = nil, inputBias: UnsafePointer<Float>? = nil
        var recurrentT: UnsafePointer<Float>? = nil, recurrentBias: UnsafePointer<Float>? = nil
        var h0: UnsafePointer<Float>? = nil, c0: UnsafePointer<Float>? = nil, sD = 0, sB = 0
        var peepholes: UnsafePointer<Float>? = nil
        var lengths: UnsafePointer<Int>? = nil
        var y: UnsafeMutablePointer<Float>? = nil, yT = 0, yD = 0, yB = 0
        var lastH: UnsafeMutablePointer<Float>? = nil, lastC: UnsafeMutablePointer<Float>? = nil
        /// Row blocks per direction, and each (direction, block) task's state area.
        var blocks = 0
        var states: UnsafeMutablePointer<Float>? = nil, stateFloats = 0
    }

    static func dispatch(_ cell: CellKind, rows: Int, _ p: Plan, direction d: Int, row0: Int) {
        switch cell {
        case .lstm: dispatch(LSTMCell.self, rows: rows, p, direction: d, row0: row0)
        case .gru: dispatch(GRUCell.self, rows: rows, p, direction: d, row0: row0)
        case .gruLinearBeforeReset: dispatch(GRULinearBeforeResetCell.self, rows: rows, p, direction: d, row0: row0)
        case .rnn: dispatch(RNNCell.self, rows: rows, p, direction: d, row0: row0)
        }
    }

    @inline(__always)
    static func dispatch<C: Cell>(_: C.Type, rows: Int, _ p: Plan, direction d: Int, row0: Int) {
        switch rows {
        case 4: block(C.self, GemmKernel.Rows4.self, p, direction: d, row0: row0)
        case 3: block(C.self, GemmKernel.Rows3.self, p, direction: d, row0: row0)
        case 2: block(C.self, GemmKernel.Rows2.self, p, direction: d, row0: row0)
        default: block(C.self, GemmKernel.Rows1.self, p, direction: d, row0: row0)
        }
    }
}

// MARK: The row-block recurrence

extension RecurrentKernel {
    /// Accumulators of one 16-lane column chunk: gate slot `g` of tile row `r` is `gGrR`. A
    /// one-row tile uses row 1's slots for a second FMA chain (odd k), halving the latency.
    struct Tile {
        var g0r0 = Vector(), g1r0 = Vector(), g2r0 = Vector(), g3r0 = Vector()
        var g0r1 = Vector(), g1r1 = Vector(), g2r1 = Vector(), g3r1 = Vector()
        var g0r2 = Vector(), g1r2 = Vector(), g2r2 = Vector(), g3r2 = Vector()
        var g0r3 = Vector(), g1r3 = Vector(), g2r3 = Vector(), g3r3 = Vector()

        /// Adds row 1's slots into row 0's (the one-row tile's second chain).
        @inline(__always)
        mutating func foldSecondChain() {
            g0r0 += g0r1; g1r0 += g1r1; g2r0 += g2r1; g3r0 += g3r1
        }
    }

    /// Which of the four gate slots of a tile a product feeds, as a type so the choice is a
    /// constant in each specialisation (where each slot's columns start is a runtime offset).
    protocol Slots {
        static var on0: Bool { get }
        static var on1: Bool { get }
        static var on2: Bool { get }
        static var on3: Bool { get }
    }
    enum SlotsAll: Slots { static var on0: Bool { true }; static var on1: Bool { true }; static var on2: Bool { true }; static var on3: Bool { true } }
    enum Slots012: Slots { static var on0: Bool { true }; static var on1: Bool { true }; static var on2: Bool { true }; static var on3: Bool { false } }
    enum Slots013: Slots { static var on0: Bool { true }; static var on1: Bool { true }; static var on2: Bool { false }; static var on3: Bool { true } }
    enum Slots01: Slots { static var on0: Bool { true }; static var on1: Bool { true }; static var on2: Bool { false }; static var on3: Bool { false } }
    enum Slots0: Slots { static var on0: Bool { true }; static var on1: Bool { false }; static var on2: Bool { false }; static var on3: Bool { false } }
    enum Slots3: Slots { static var on0: Bool { false }; static var on1: Bool { false }; static var on2: Bool { false }; static var on3: Bool { true } }

    typealias Offsets = (Int, Int, Int, Int)

    /// `tile[g][r] += Σ_p a[r·lda + p] · b[p·ldb + offset_g ..< +16]` for the slots in `S`.
    @inline(__always)
    static func accumulate<R: GemmKernel.TileRows, S: Slots>(_ t: inout Tile, _: R.Type, _: S.Type, _ o: Offsets, a: UnsafePointer<Float>,
                                                             lda: Int, k: Int, b: UnsafePointer<Float>, ldb: Int) {
        let z = Vector()
        var ap = a, bp = b, p = 0
        if R.count == 1 {
            while p &+ 2 <= k {
                let x0 = Vector(repeating: ap[0]), x1 = Vector(repeating: ap[1])
                let bq = bp + ldb
                if S.on0 { t.g0r0 = t.g0r0.addingProduct(x0, FastMath.load(bp + o.0)); t.g0r1 = t.g0r1.addingProduct(x1, FastMath.load(bq + o.0)) }
                if S.on1 { t.g1r0 = t.g1r0.addingProduct(x0, FastMath.load(bp + o.1)); t.g1r1 = t.g1r1.addingProduct(x1, FastMath.load(bq + o.1)) }
                if S.on2 { t.g2r0 = t.g2r0.addingProduct(x0, FastMath.load(bp + o.2)); t.g2r1 = t.g2r1.addingProduct(x1, FastMath.load(bq + o.2)) }
                if S.on3 { t.g3r0 = t.g3r0.addingProduct(x0, FastMath.load(bp + o.3)); t.g3r1 = t.g3r1.addingProduct(x1, FastMath.load(bq + o.3)) }
                ap += 2; bp += 2 &* ldb; p &+= 2
            }
        }
        while p < k {
            let b0 = S.on0 ? FastMath.load(bp + o.0) : z
            let b1 = S.on1 ? FastMath.load(bp + o.1) : z
            let b2 = S.on2 ? FastMath.load(bp + o.2) : z
            let b3 = S.on3 ? FastMath.load(bp + o.3) : z
            do {
                let x = Vector(repeating: ap[0])
                if S.on0 { t.g0r0 = t.g0r0.addingProduct(x, b0) }
                if S.on1 { t.g1r0 = t.g1r0.addingProduct(x, b1) }
                if S.on2 { t.g2r0 = t.g2r0.addingProduct(x, b2) }
                if S.on3 { t.g3r0 = t.g3r0.addingProduct(x, b3) }
            }
            if R.count > 1 {
                let x = Vector(repeating: ap[lda])
                if S.on0 { t.g0r1 = t.g0r1.addingProduct(x, b0) }
                if S.on1 { t.g1r1 = t.g1r1.addingProduct(x, b1) }
                if S.on2 { t.g2r1 = t.g2r1.addingProduct(x, b2) }
                if S.on3 { t.g3r1 = t.g3r1.addingProduct(x, b3) }
            }
            if R.count > 2 {
                let x = Vector(repeating: ap[2 &* lda])
                if S.on0 { t.g0r2 = t.g0r2.addingProduct(x, b0) }
                if S.on1 { t.g1r2 = t.g1r2.addingProduct(x, b1) }
                if S.on2 { t.g2r2 = t.g2r2.addingProduct(x, b2) }
                if S.on3 { t.g3r2 = t.g3r2.addingProduct(x, b3) }
            }
            if R.count > 3 {
                let x = Vector(repeating: ap[3 &* lda])
                if S.on0 { t.g0r3 = t.g0r3.addingProduct(x, b0) }
                if S.on1 { t.g1r3 = t.g1r3.addingProduct(x, b1) }
                if S.on2 { t.g2r3 = t.g2r3.addingProduct(x, b2) }
                if S.on3 { t.g3r3 = t.g3r3.addingProduct(x, b3) }
            }
            ap += 1; bp += ldb; p &+= 1
        }
    }

    /// Loads the slots in `S` of every tile row from `source + offset_g` (`rowStride` apart).
    @inline(__always)
    static func load<R: GemmKernel.TileRows, S: Slots>(_ t: inout Tile, _: R.Type, _: S.Type, _ o: Offsets, from p: UnsafePointer<Float>,
                                                       rowStride: Int) {
        if S.on0 { t.g0r0 = FastMath.load(p + o.0) }
        if S.on1 { t.g1r0 = FastMath.load(p + o.1) }
        if S.on2 { t.g2r0 = FastMath.load(p + o.2) }
        if S.on3 { t.g3r0 = FastMath.load(p + o.3) }
        if R.count > 1 {
            let q = p + rowStride
            if S.on0 { t.g0r1 = FastMath.load(q + o.0) }
            if S.on1 { t.g1r1 = FastMath.load(q + o.1) }
            if S.on2 { t.g2r1 = FastMath.load(q + o.2) }
            if S.on3 { t.g3r1 = FastMath.load(q + o.3) }
        }
        if R.count > 2 {
            let q = p + 2 &* rowStride
            if S.on0 { t.g0r2 = FastMath.load(q + o.0) }
            if S.on1 { t.g1r2 = FastMath.load(q + o.1) }
            if S.on2 { t.g2r2 = FastMath.load(q + o.2) }
            if S.on3 { t.g3r2 = FastMath.load(q + o.3) }
        }
        if R.count > 3 {
            let q = p + 3 &* rowStride
            if S.on0 { t.g0r3 = FastMath.load(q + o.0) }
            if S.on1 { t.g1r3 = FastMath.load(q + o.1) }
            if S.on2 { t.g2r3 = FastMath.load(q + o.2) }
            if S.on3 { t.g3r3 = FastMath.load(q + o.3) }
        }
    }

    /// One row block's pointers for the current time step. The state scratch holds
    /// ``blockRows`` rows of `hp` floats each: H twice (the previous step's, which every column
    /// chunk reads, and the next), C, and for the GRU without `linear_before_reset` z, the
    /// candidate's input part and `r ⊙ H` between its two products.
    struct Step {
        var hp: Int, gp: Int, hidden: Int, inputSize: Int, columns: Int, clip: Float, inputForget: Bool
        var rows: Int
        var hPrev: UnsafeMutablePointer<Float>, hNext: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>
        var zSave: UnsafeMutablePointer<Float>, nSave: UnsafeMutablePointer<Float>, resetH: UnsafeMutablePointer<Float>
        /// 16 vectors of gate pre-activations for the gate math.
        var gates: UnsafeMutablePointer<Float>
        /// This direction's `Wᵀ` (fused projection), bias, `Rᵀ`, recurrent bias and padded peepholes.
        var wT: UnsafePointer<Float>?, bias: UnsafePointer<Float>, rT: UnsafePointer<Float>, rb: UnsafePointer<Float>
        var peepholes: UnsafePointer<Float>?
        /// Row 0 of the block at this step in X (fused) or the projection, and in Y; rows apart.
        var x: UnsafePointer<Float>?, xStride: Int
        var xw: UnsafePointer<Float>?, xwStride: Int
        var y: UnsafeMutablePointer<Float>, yStride: Int
        /// Rows whose sequence has not ended (or not started, in reverse) at this step.
        var active: (Bool, Bool, Bool, Bool) = (true, true, true, true)

        @inline(__always)
        func isActive(_ r: Int) -> Bool {
            switch r {
            case 0: active.0
            case 1: active.1
            case 2: active.2
            default: active.3
            }
        }
    }

    /// One (direction, row block) through every time step.
    @inline(never)
    static func block<C: Cell, R: GemmKernel.TileRows>(_: C.Type, _: R.Type, _ p: Plan, direction d: Int, row0: Int) {
        let hp = p.hp, gp = p.gp, h = p.hidden, n = R.count
        let reverse = p.reverseOnly || d == 1
        let stride = blockRows * hp
        do {
            let base = p.states! + (d * p.blocks + row0 / blockRows) * p.stateFloats
            base.update(repeating: 0, count: p.stateFloats)
            var s = Step(hp: hp, gp: gp, hidden: h, inputSize: p.inputSize, columns: p.columns, clip: p.clip, inputForget: p.inputForget,
                         rows: n, hPrev: base, hNext: base + stride, c: base + 2 * stride, zSave: base + 3 * stride,
                         nSave: base + 4 * stride, resetH: base + 5 * stride, gates: base + 6 * stride,
                         wT: p.fused ? p.inputT.map { $0 + d * gp } : nil, bias: p.inputBias! + d * gp,
                         rT: p.recurrentT! + d * hp * gp, rb: p.recurrentBias! + d * gp, peepholes: p.peepholes.map { $0 + d * 3 * hp },
                         x: nil, xStride: p.xB, xw: nil, xwStride: p.xwB, y: p.y!, yStride: p.yB)
            for r in 0..<n {
                let o = d * p.sD + (row0 + r) * p.sB
                if let h0 = p.h0 { (s.hPrev + r * hp).update(from: h0 + o, count: h) }
                if let c0 = p.c0 { (s.c + r * hp).update(from: c0 + o, count: h) }
            }
            for step in 0..<p.seq {
                let t = reverse ? p.seq - 1 - step : step
                if let lengths = p.lengths {
                    @inline(__always) func on(_ r: Int) -> Bool { r < n && t < lengths[row0 + r] }
                    s.active = (on(0), on(1), on(2), on(3))
                }
                s.x = p.x.map { $0 + t * p.xT + row0 * p.xB }
                s.xw = p.xw.map { $0 + t * p.xwT + row0 * p.xwB + d * gp }
                s.y = p.y! + t * p.yT + d * p.yD + row0 * p.yB
                var j = 0
                while j < hp {
                    chunk(C.self, R.self, s, j)
                    j += 16
                }
                if C.kind == .gru {
                    // The candidate's recurrent product (r ⊙ H)·Rhᵀ needs every lane of r ⊙ H.
                    j = 0
                    while j < hp {
                        candidateChunk(R.self, s, j)
                        j += 16
                    }
                }
                swap(&s.hPrev, &s.hNext)
            }
            for r in 0..<n {
                let o = d * p.sD + (row0 + r) * p.sB
                p.lastH!.advanced(by: o).update(from: s.hPrev + r * hp, count: h)
                if C.kind == .lstm { p.lastC!.advanced(by: o).update(from: s.c + r * hp, count: h) }
            }
        }
    }

    /// The register tile of columns `j ..< j + 16` of every gate for the block's rows at one
    /// step (bias or projection, `x·Wᵀ` when fused, `H·Rᵀ`), stored gate-major
    /// (`gate · rows + row`) in `s.gates`, so each activation then runs over one contiguous range.
    @inline(never)
    static func tileProduct<C: Cell, R: GemmKernel.TileRows>(_: C.Type, _: R.Type, _ s: Step, _ j: Int) {
        let n = R.count, hp = s.hp
        let offsets: Offsets = C.kind == .gruLinearBeforeReset ? (0, hp, 2 * hp, 2 * hp) : (0, hp, 2 * hp, 3 * hp)
        var tile = Tile()
        if let xw = s.xw {
            load(&tile, R.self, C.InputSlots.self, offsets, from: xw + j, rowStride: s.xwStride)
        } else {
            load(&tile, R.self, C.InputSlots.self, offsets, from: s.bias + j, rowStride: 0)
        }
        if C.kind == .gruLinearBeforeReset { load(&tile, R.self, Slots3.self, offsets, from: s.rb + j, rowStride: 0) }
        if let wT = s.wT, let x = s.x, s.inputSize > 0 {
            accumulate(&tile, R.self, C.InputSlots.self, offsets, a: x, lda: s.xStride, k: s.inputSize, b: wT + j, ldb: s.columns)
        }
        accumulate(&tile, R.self, C.StateSlots.self, offsets, a: s.hPrev, lda: hp, k: s.hidden, b: s.rT + j, ldb: s.gp)
        if n == 1 { tile.foldSecondChain() }
        let g = s.gates
        @inline(__always) func put(_ gate: Int, _ r: Int, _ v: Vector) { FastMath.store(v, g + (gate &* n &+ r) &* 16) }
        let used = C.kind == .lstm || C.kind == .gruLinearBeforeReset ? 4 : (C.kind == .gru ? 3 : 1)
        put(0, 0, tile.g0r0)
        if used > 1 { put(1, 0, tile.g1r0); put(2, 0, tile.g2r0) }
        if used > 3 { put(3, 0, tile.g3r0) }
        if n > 1 {
            put(0, 1, tile.g0r1)
            if used > 1 { put(1, 1, tile.g1r1); put(2, 1, tile.g2r1) }
            if used > 3 { put(3, 1, tile.g3r1) }
        }
        if n > 2 {
            put(0, 2, tile.g0r2)
            if used > 1 { put(1, 2, tile.g1r2); put(2, 2, tile.g2r2) }
            if used > 3 { put(3, 2, tile.g3r2) }
        }
        if n > 3 {
            put(0, 3, tile.g0r3)
            if used > 1 { put(1, 3, tile.g1r3); put(2, 3, tile.g2r3) }
            if used > 3 { put(3, 3, tile.g3r3) }
        }
    }

    /// Columns `j ..< j + 16` of every gate for the block's rows at one step: the tile, then
    /// the gate math; writes C, the next H and Y (or, for the GRU without
    /// `linear_before_reset`, the first half of the step).
    @inline(never)
    static func chunk<C: Cell, R: GemmKernel.TileRows>(_: C.Type, _: R.Type, _ s: Step, _ j: Int) {
        let n = R.count, hp = s.hp
        tileProduct(C.self, R.self, s, j)
        let g = s.gates
        @inline(__always) func gate(_ gate: Int, _ r: Int) -> Vector { FastMath.load(g + (gate * n + r) * 16) }
        @inline(__always) func setGate(_ gate: Int, _ r: Int, _ v: Vector) { FastMath.store(v, g + (gate * n + r) * 16) }
        let valid = min(16, s.hidden - j)
        @inline(__always) func commit(_ r: Int, _ hNew: Vector) {
            let o = r * hp + j
            guard s.isActive(r) else { return FastMath.store(FastMath.load(s.hPrev + o), s.hNext + o) }
            FastMath.store(hNew, s.hNext + o)
            storePrefix(from: s.hNext + o, to: s.y + r * s.yStride + j, count: valid)
        }

        switch C.kind {
        case .lstm:
            // i, o, f, c. Peepholes add p ⊙ C to i and f and p ⊙ C_new to o, so o waits for C_new.
            if let p = s.peepholes {
                for r in 0..<n {
                    let cPrev = FastMath.load(s.c + r * hp + j)
                    setGate(0, r, gate(0, r).addingProduct(FastMath.load(p + j), cPrev))
                    setGate(2, r, gate(2, r).addingProduct(FastMath.load(p + 2 * hp + j), cPrev))
                }
                activate(g, vectors: n, clip: s.clip, tanh: false)
                activate(g + 2 * n * 16, vectors: n, clip: s.clip, tanh: false)
            } else {
                activate(g, vectors: 3 * n, clip: s.clip, tanh: false)
            }
            activate(g + 3 * n * 16, vectors: n, clip: s.clip, tanh: true)
            // C_new = f ⊙ C + i ⊙ ĉ (f = 1 - i with input_forget), kept in gate 3's slots for tanh.
            for r in 0..<n {
                let o = r * hp + j
                let ig = gate(0, r)
                let fg = s.inputForget ? 1 - ig : gate(2, r)
                let cNew = fg * FastMath.load(s.c + o) + ig * gate(3, r)
                if s.isActive(r) { FastMath.store(cNew, s.c + o) }
                setGate(3, r, cNew)
            }
            if let p = s.peepholes {
                for r in 0..<n { setGate(1, r, gate(1, r).addingProduct(FastMath.load(p + hp + j), gate(3, r))) }
                activate(g + n * 16, vectors: n, clip: s.clip, tanh: false)
            }
            activate(g + 3 * n * 16, vectors: n, clip: 0, tanh: true)
            for r in 0..<n { commit(r, gate(1, r) * gate(3, r)) }
        case .gruLinearBeforeReset:
            // z, r, then the candidate tanh(x·Whᵀ + Wb + r ⊙ (H·Rhᵀ + Rb)).
            activate(g, vectors: 2 * n, clip: s.clip, tanh: false)
            for r in 0..<n { setGate(2, r, gate(2, r).addingProduct(gate(1, r), gate(3, r))) }
            activate(g + 2 * n * 16, vectors: n, clip: s.clip, tanh: true)
            for r in 0..<n {
                let z = gate(0, r), candidate = gate(2, r)
                commit(r, candidate + z * (FastMath.load(s.hPrev + r * hp + j) - candidate))   // (1 - z)·n + z·h
            }
        case .gru:
            // z and r ⊙ H now; ``candidateChunk`` finishes the step once every lane of r ⊙ H exists.
            activate(g, vectors: 2 * n, clip: s.clip, tanh: false)
            for r in 0..<n {
                let o = r * hp + j
                FastMath.store(gate(0, r), s.zSave + o)
                FastMath.store(gate(2, r), s.nSave + o)
                FastMath.store(gate(1, r) * FastMath.load(s.hPrev + o), s.resetH + o)
            }
        case .rnn:
            activate(g, vectors: n, clip: s.clip, tanh: true)
            for r in 0..<n { commit(r, gate(0, r)) }
        }
    }

    /// Second half of a GRU step without `linear_before_reset`: the candidate
    /// `tanh(x·Whᵀ + b + (r ⊙ H)·Rhᵀ)` and the new H.
    @inline(never)
    static func candidateChunk<R: GemmKernel.TileRows>(_: R.Type, _ s: Step, _ j: Int) {
        let n = R.count, hp = s.hp
        let offsets: Offsets = (0, 0, 0, 0)
        var tile = Tile()
        load(&tile, R.self, Slots0.self, offsets, from: s.nSave + j, rowStride: hp)
        accumulate(&tile, R.self, Slots0.self, offsets, a: s.resetH, lda: hp, k: s.hidden, b: s.rT + 2 * hp + j, ldb: s.gp)
        if n == 1 { tile.foldSecondChain() }
        let g = s.gates
        FastMath.store(tile.g0r0, g)
        if n > 1 { FastMath.store(tile.g0r1, g + 16) }
        if n > 2 { FastMath.store(tile.g0r2, g + 32) }
        if n > 3 { FastMath.store(tile.g0r3, g + 48) }
        activate(g, vectors: n, clip: s.clip, tanh: true)
        let valid = min(16, s.hidden - j)
        for r in 0..<n {
            let o = r * hp + j
            let hOld = FastMath.load(s.hPrev + o)
            guard s.isActive(r) else { FastMath.store(hOld, s.hNext + o); continue }
            let candidate = FastMath.load(g + r * 16)
            FastMath.store(candidate + FastMath.load(s.zSave + o) * (hOld - candidate), s.hNext + o)
            storePrefix(from: s.hNext + o, to: s.y + r * s.yStride + j, count: valid)
        }
    }

    /// `v = σ(clip(v))` or `tanh(clip(v))` for `vectors` consecutive vectors in place (clip 0:
    /// none). Each transcendental sits in a function of its own, inlined once in a loop: a
    /// caller that inlines more than one exceeds the SIL inliner's size limit and calls them
    /// per vector instead, which costs a third of the gate math.
    @inline(__always)
    static func activate(_ p: UnsafeMutablePointer<Float>, vectors: Int, clip: Float, tanh: Bool) {
        if clip > 0 { clamp(p, vectors: vectors, clip) }
        if tanh { tanhInPlace(p, vectors: vectors) } else { sigmoidInPlace(p, vectors: vectors) }
    }

    @inline(never)
    static func sigmoidInPlace(_ p: UnsafeMutablePointer<Float>, vectors: Int) {
        for i in 0..<vectors { FastMath.store(FastMath.sigmoid(FastMath.load(p + i &* 16)), p + i &* 16) }
    }

    @inline(never)
    static func tanhInPlace(_ p: UnsafeMutablePointer<Float>, vectors: Int) {
        for i in 0..<vectors { FastMath.store(FastMath.tanh(FastMath.load(p + i &* 16)), p + i &* 16) }
    }

    @inline(never)
    static func clamp(_ p: UnsafeMutablePointer<Float>, vectors: Int, _ clip: Float) {
        for i in 0..<vectors { FastMath.store(FastMath.clamp(FastMath.load(p + i &* 16), -clip, clip), p + i &* 16) }
    }
}

// MARK: Gate math, 16 hidden units at a time

extension RecurrentKernel {
    /// Copies `count` (1...16) floats as at most four vector moves.
    @inline(__always)
    static func storePrefix(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(target)
        if count >= 16 { return to.storeBytes(of: from.loadUnaligned(as: Vector.self), as: Vector.self) }
        var offset = 0
        if count & 8 != 0 { to.storeBytes(of: from.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self); offset = 32 }
        if count & 4 != 0 { (to + offset).storeBytes(of: (from + offset).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self); offset += 16 }
        if count & 2 != 0 { (to + offset).storeBytes(of: (from + offset).loadUnaligned(as: SIMD2<Float>.self), as: SIMD2<Float>.self); offset += 8 }
        if count & 1 != 0 { (to + offset).storeBytes(of: (from + offset).loadUnaligned(as: Float.self), as: Float.self) }
    }
}
