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
        let y = try node.outputTensor(outShape, .float32) { y throws(InferenceError) in
            try Tensor.withElements(of: tensors) { p in
                compute({ p[$0].assumingMemoryBound(to: Float.self) }, y.assumingMemoryBound(to: Float.self), pattern)
            }
        }
        return [y]
    }

    /// Evaluates the program over `pattern.count` outputs; `input(i)` is input i's elements.
    /// The program's intermediates and the per-chunk input addresses live on the stack.
    @inline(__always)
    func compute(_ input: (Int) -> UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ pattern: BroadcastPattern) {
        guard pattern.count > 0 else { return }
        let chunk = ElementwiseProgram.chunk
        let n = pattern.operands
        let program = self.program
        withUnsafeTemporaryAllocation(of: Float.self, capacity: program.steps.count * chunk) { scratch in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: max(2 * n, 1)) { buffer in
                let bases = buffer.baseAddress!, pointers = buffer.baseAddress! + n
                for i in 0..<n { bases[i] = input(i) }
                pattern.innerStrides.withUnsafeBufferPointer { inner in
                    let innerStrides = inner.baseAddress ?? UnsafePointer(bitPattern: 8)!
                    pattern.forEachRow { offsets, start, count in
                        var j = 0
                        while j < count {
                            let m = Swift.min(chunk, count - j)
                            for i in 0..<n { pointers[i] = bases[i] + offsets[i] + j * innerStrides[i] }
                            program.evaluate(count: m, inputs: UnsafePointer(pointers), inputStrides: innerStrides,
                                             scratch: scratch.baseAddress!, output: y + start + j)
                            j += m
                        }
                    }
                }
            }
        }
    }
}
