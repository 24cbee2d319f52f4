/// Joins requests' tensors along the batch dimension and splits the outputs back.
///
/// This is the one copy on the batched path: each request's rows are copied once into the
/// batch, and each output's rows once into the request's own tensor.
enum BatchAssembler {
    static func concatenate(_ parts: [Tensor], rows: Int) -> Tensor {
        let rowShape = Array(parts[0].shape.dropFirst())
        var scalars: [Float] = []
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.elementCount })
        for part in parts { scalars.append(contentsOf: part.scalars) }
        return Tensor(shape: [rows] + rowShape, scalars: scalars)
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
            let scalars = output.scalars
            var offset = 0
            for (index, count) in rows.enumerated() {
                let slice = Array(scalars[offset * rowSize..<(offset + count) * rowSize])
                result[index].append(Tensor(shape: [count] + rowShape, scalars: slice))
                offset += count
            }
        }
        return result
    }
}
