/// The numeric feature input of an ONNX-ML operator (float32, int64 or int32, as skl2onnx
/// declares them) read as float32 in a planned run.
///
/// The general executor converts integer features with `TensorStorage.floatValues`; a bound
/// kernel converts them the same way into its scratch space, so planned and general runs see
/// the same floats, and float32 input (the usual case) is read in place.
struct MLFeatureInput {
    let elementType: ElementType
    let count: Int

    init?(_ value: PlanValue) {
        guard [.float32, .int64, .int32].contains(value.elementType) else { return nil }
        elementType = value.elementType
        count = value.elementCount
    }

    /// Scratch bytes the conversion needs, rounded up to keep what follows it 64-byte aligned.
    var scratchBytes: Int {
        elementType == .float32 ? 0 : (count * MemoryLayout<Float>.stride + 63) / 64 * 64
    }

    /// Input `index` as floats; `scratch` holds ``scratchBytes`` bytes when they are not 0.
    func floats(_ io: BoundIO, _ index: Int, scratch: UnsafeMutableRawPointer?) -> UnsafePointer<Float> {
        switch elementType {
        case .int64:
            let source: UnsafePointer<Int64> = io.input(index)
            let converted = scratch!.assumingMemoryBound(to: Float.self)
            for i in 0..<count { converted[i] = Float(source[i]) }
            return UnsafePointer(converted)
        case .int32:
            let source: UnsafePointer<Int32> = io.input(index)
            let converted = scratch!.assumingMemoryBound(to: Float.self)
            for i in 0..<count { converted[i] = Float(source[i]) }
            return UnsafePointer(converted)
        default:
            return io.input(index)
        }
    }

    /// `(rows, columns)` of a 1-D (one row) or 2-D feature input, nil for other ranks, which
    /// the ML operators refuse.
    static func matrixShape(_ shape: [Int]) -> (rows: Int, columns: Int)? {
        switch shape.count {
        case 1: (1, shape[0])
        case 2: (shape[0], shape[1])
        default: nil
        }
    }
}
