extension ArrayFeatureExtractorKernel {
    func bind(_ inputs: [PlanValue?], _ outputs: [PlanValue?], _ node: NodeExecutor) throws(InferenceError) -> KernelBinding? {
        guard let x = inputs[0], let indices = inputs[1], indices.elementType == .int64,
              let elementBytes = x.elementType.byteWidth, let stride = x.shape.last, stride > 0 else { return nil }
        return .compute(BoundArrayFeatureExtractorKernel(elementBytes: elementBytes, rows: x.elementCount / stride, stride: stride,
                                                         indexCount: indices.elementCount))
    }
}

/// ArrayFeatureExtractor bound to one plan's sizes. The indices are read per run (skl2onnx
/// feeds it ArgMax results to map class positions to labels), so each run checks them and
/// refuses one out of range as invalid input.
final class BoundArrayFeatureExtractorKernel: BoundKernel {
    let elementBytes: Int, rows: Int, stride: Int, indexCount: Int

    init(elementBytes: Int, rows: Int, stride: Int, indexCount: Int) {
        self.elementBytes = elementBytes
        self.rows = rows
        self.stride = stride
        self.indexCount = indexCount
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) throws(InferenceError) {
        let indices: UnsafePointer<Int64> = io.input(1)
        if let bad = ArrayFeatureExtractorKernel.outOfRange(indices, count: indexCount, stride: stride) {
            throw .invalidInput("node '\(io.step.name)' (\(io.step.opType)): index \(bad) is out of range for \(stride) features")
        }
        guard let y = io.optionalOutput(0, as: UInt8.self) else { return }
        ArrayFeatureExtractorKernel.extract(UnsafeRawPointer(io.input(0, as: UInt8.self)), elementBytes: elementBytes, rows: rows,
                                            stride: stride, indices: indices, count: indexCount, into: UnsafeMutableRawPointer(y))
    }
}
