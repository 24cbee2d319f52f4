/// Runs an ``ElementwiseProgram`` over its inputs with numpy broadcasting: one pass over the
/// output instead of one per fused node, and no intermediate tensors.
///
/// The output shape is the broadcast of all input shapes. Adjacent dimensions that every
/// input treats alike are merged, so the common cases (same shapes; a bias row over a matrix;
/// a scalar) become long contiguous rows.
struct FusedElementwiseKernel: NodeKernel {
    let program: ElementwiseProgram

    func run(_ inputs: [Tensor?], _ node: NodeExecutor) throws(InferenceError) -> [Tensor] {
        var values: [[Float]] = []
        var shapes: [[Int]] = []
        for i in inputs.indices {
            let (v, s) = try node.floats(inputs[i])
            values.append(v)
            shapes.append(s)
        }
        let outShape = try node.broadcast(shapes)
        let total = ShapeMath.product(outShape, 0..<outShape.count)
        let rank = outShape.count

        // Strides of every input in the output's index space (0 along broadcast dims).
        var strides = shapes.map { Generic.broadcastStrides($0, in: outShape) }
        // Merge dimension d into d+1 when every input's strides are contiguous across both.
        var dims = outShape
        var d = rank - 2
        while d >= 0 {
            let mergeable = strides.allSatisfy { s in s[d] == s[d + 1] * dims[d + 1] }
            if mergeable {
                dims[d] *= dims[d + 1]
                dims.remove(at: d + 1)
                for i in strides.indices { strides[i][d] = strides[i][d + 1]; strides[i].remove(at: d + 1) }
            }
            d -= 1
        }
        if dims.isEmpty { dims = [1]; strides = strides.map { _ in [0] } }
        let inner = dims[dims.count - 1]
        let outerDims = Array(dims.dropLast())
        let rows = inner == 0 ? 0 : total / inner
        let program = self.program
        let inputCount = values.count

        let y = node.outputFloats(total) { out, initialized in
            initialized = total
            guard total > 0 else { return }
            let chunk = ElementwiseProgram.chunk
            withUnsafeTemporaryAllocation(of: Float.self, capacity: program.steps.count * chunk) { scratch in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: inputCount) { pointers in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: inputCount * 2) { ints in
                let innerStride = ints.baseAddress!, offsets = ints.baseAddress! + inputCount
                for i in 0..<inputCount { innerStride[i] = strides[i][strides[i].count - 1]; offsets[i] = 0 }
                Self.withBases(values) { bases in
                    var index = [Int](repeating: 0, count: outerDims.count)
                    for row in 0..<rows {
                        var j = 0
                        while j < inner {
                            let n = Swift.min(chunk, inner - j)
                            for i in 0..<inputCount {
                                pointers[i] = bases[i] + offsets[i] + j * innerStride[i]
                            }
                            program.evaluate(count: n, inputs: UnsafePointer(pointers.baseAddress!), inputStrides: innerStride,
                                             scratch: scratch.baseAddress!, output: out.baseAddress! + row * inner + j)
                            j += n
                        }
                        // Advance the outer multi-index and every input's offset.
                        var axis = outerDims.count - 1
                        while axis >= 0 {
                            index[axis] += 1
                            for i in 0..<inputCount { offsets[i] += strides[i][axis] }
                            if index[axis] < outerDims[axis] { break }
                            for i in 0..<inputCount { offsets[i] -= strides[i][axis] * index[axis] }
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
            }
            }
        }
        return [Tensor(shape: outShape, storage: .float32(y))]
    }

    /// Base pointers of every input, valid inside `body`.
    private static func withBases(_ values: [[Float]], _ body: ([UnsafePointer<Float>]) -> Void) {
        func nest(_ i: Int, _ acc: [UnsafePointer<Float>]) {
            if i == values.count { body(acc); return }
            values[i].withUnsafeBufferPointer { p in
                // An empty input only occurs when the output is empty too, which returns earlier.
                nest(i + 1, acc + [p.baseAddress ?? UnsafePointer(bitPattern: 0x10)!])
            }
        }
        nest(0, [])
    }
}
