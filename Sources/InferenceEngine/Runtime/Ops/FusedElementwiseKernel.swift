/// Runs an ``ElementwiseProgram`` over its inputs with numpy broadcasting: one pass over the
/// output instead of one per fused node, and no intermediate tensors.
///
/// The output shape is the broadcast of all input shapes; ``BroadcastPattern`` merges the
/// dimensions every input treats alike, so the common cases (same shapes; a bias row over a
/// matrix; a scalar) become long contiguous rows.
struct FusedElementwiseKernel: NodeKernel {
    let program: ElementwiseProgram

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var tensors: [Tensor] = []
        for i in inputs.indices {
            guard let t = inputs[i], t.elementType == .float32 else {
                throw .internalFailure("node '\(node.node.name)' (\(node.node.opType)): missing or non-float input")
            }
            tensors.append(t)
        }
        let shapes = tensors.map(\.shape)
        let outShape = try node.broadcast(shapes)
        let pattern = BroadcastPattern(shapes, outShape: outShape)
        let scratchBytes = scratchBytes(operands: tensors.count)
        let y = try node.outputTensor(outShape, .float32) { y throws(InferenceError) in
            try Tensor.withElements(of: tensors) { p in
                withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 64) { scratch in
                    compute({ p[$0].assumingMemoryBound(to: Float.self) }, y.assumingMemoryBound(to: Float.self), pattern,
                            scratch: scratch.baseAddress!)
                }
            }
        }
        return [y]
    }

    /// Bytes of working memory ``compute(_:_:_:scratch:)`` needs with `operands` inputs: the
    /// program's intermediates for one chunk and the per-chunk input addresses. A plan gives it
    /// from its arena (more than a few KiB on the stack would go to the heap on Linux).
    func scratchBytes(operands: Int) -> Int {
        let n = Swift.max(operands, 1)
        return (program.steps.count + n) * ElementwiseProgram.chunk * MemoryLayout<Float>.stride
            + 3 * n * MemoryLayout<UnsafePointer<Float>>.stride
    }

    /// Rows shorter than this are gathered several to a chunk before the program runs: one
    /// evaluation per 16-float row (a `[B, S, 1]` mask over `[B, S, 16]`) cost more than the
    /// fused nodes apart.
    static let narrowRow = ElementwiseProgram.chunk / 4

    /// Evaluates the program over `pattern.count` outputs; `input(i)` is input i's elements and
    /// `scratch` holds ``scratchBytes(operands:)`` bytes, 64-byte aligned.
    @inline(__always)
    func compute(_ input: (Int) -> UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ pattern: BroadcastPattern,
                 scratch: UnsafeMutableRawPointer) {
        guard pattern.count > 0 else { return }
        let chunk = ElementwiseProgram.chunk
        let n = pattern.operands
        let program = self.program
        let values = scratch.assumingMemoryBound(to: Float.self)
        let bases = (scratch + program.steps.count * chunk * MemoryLayout<Float>.stride)
            .assumingMemoryBound(to: UnsafePointer<Float>.self)
        let pointers = bases + n
        for i in 0..<n { bases[i] = input(i) }
        let inner = pattern.sizes[pattern.sizes.count - 1]
        if inner < Self.narrowRow {
            // Whole rows are copied, one after the other, into a dense chunk per input, and the
            // program runs once per chunk; consecutive rows are consecutive in the output.
            let staged = pointers + n
            let staging = UnsafeMutableRawPointer(staged + n).assumingMemoryBound(to: Float.self)
            for i in 0..<n { staged[i] = UnsafePointer(staging + i * chunk) }
            let rowsPerChunk = chunk / inner
            var filled = 0, first = 0
            pattern.innerStrides.withUnsafeBufferPointer { innerStrides in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: n) { ones in
                    ones.initialize(repeating: 1)
                    let unit = UnsafePointer(ones.baseAddress!)
                    pattern.forEachRow { offsets, start, count in
                        if filled == 0 { first = start }
                        for i in 0..<n {
                            let source = bases[i] + offsets[i], target = staging + i * chunk + filled * inner
                            if innerStrides[i] == 1 {
                                for t in 0..<count { target[t] = source[t] }
                            } else {
                                let v = source.pointee
                                for t in 0..<count { target[t] = v }
                            }
                        }
                        filled += 1
                        if filled == rowsPerChunk {
                            program.evaluate(count: filled * inner, inputs: UnsafePointer(staged), inputStrides: unit, scratch: values, output: y + first)
                            filled = 0
                        }
                    }
                    if filled > 0 {
                        program.evaluate(count: filled * inner, inputs: UnsafePointer(staged), inputStrides: unit, scratch: values, output: y + first)
                    }
                }
            }
            return
        }
        pattern.innerStrides.withUnsafeBufferPointer { inner in
            let innerStrides = inner.baseAddress ?? UnsafePointer(bitPattern: 8)!
            pattern.forEachRow { offsets, start, count in
                var j = 0
                while j < count {
                    let m = Swift.min(chunk, count - j)
                    for i in 0..<n { pointers[i] = bases[i] + offsets[i] + j * innerStrides[i] }
                    program.evaluate(count: m, inputs: UnsafePointer(pointers), inputStrides: innerStrides,
                                     scratch: values, output: y + start + j)
                    j += m
                }
            }
        }
    }
}
