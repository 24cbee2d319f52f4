/// Joins requests' tensors along the batch dimension and splits the outputs back.
///
/// This is the one copy on the batched path: each request's rows are copied once into the
/// batch, and each output's rows once into the request's own tensor. Element types are kept
/// as they are: token ids and masks must not pass through Float.
enum BatchAssembler {
    static func concatenate(_ parts: [Tensor], rows: Int) -> Tensor {
        let shape = [rows] + Array(parts[0].shape.dropFirst())
        switch parts[0].elementType {
        case .int64: return Tensor(shape: shape, int64s: joined(parts) { $0.int64s! })
        case .int32: return Tensor(shape: shape, int32s: joined(parts) { $0.int32s! })
        case .bool: return Tensor(shape: shape, bools: joined(parts) { $0.bools! })
        default: return Tensor(shape: shape, scalars: joined(parts) { $0.scalars })
        }
    }

    private static func joined<Element>(_ parts: [Tensor], _ values: (Tensor) -> [Element]) -> [Element] {
        var result: [Element] = []
        result.reserveCapacity(parts.reduce(0) { $0 + $1.elementCount })
        for part in parts { result.append(contentsOf: values(part)) }
        return result
    }

    /// Splits every output by `rows` along its first dimension; one output list per request.
    static func split(_ outputs: [Tensor], rows: [Int]) throws(SchedulingError) -> [[Tensor]] {
        let total = rows.reduce(0, +)
        var result = Array(repeating: [Tensor](), count: rows.count)
        for output in outputs {
            guard output.shape.first == total else {
                throw .inference(.internalFailure("output of shape \(output.shape) does not carry the batch of \(total) rows"))
            }
            let rowShape = Array(output.shape.dropFirst())
            let rowSize = rowShape.reduce(1, *)
            func slices<Element>(_ values: [Element], _ make: ([Int], [Element]) -> Tensor) {
                var offset = 0
                for (index, count) in rows.enumerated() {
                    result[index].append(make([count] + rowShape, Array(values[offset * rowSize..<(offset + count) * rowSize])))
                    offset += count
                }
            }
            switch output.elementType {
            case .int64: slices(output.int64s!) { Tensor(shape: $0, int64s: $1) }
            case .int32: slices(output.int32s!) { Tensor(shape: $0, int32s: $1) }
            case .bool: slices(output.bools!) { Tensor(shape: $0, bools: $1) }
            default: slices(output.scalars) { Tensor(shape: $0, scalars: $1) }
            }
        }
        return result
    }
}
