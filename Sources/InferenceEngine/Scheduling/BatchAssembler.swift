/// Joins requests' tensors along their batch axis and splits the outputs back.
///
/// This is the one copy on the batched path: each request's rows are copied once into the
/// batch, and each output's rows once into the request's own tensor. The batch axis is usually
/// 0, but recurrent state (`h0 [layers, batch, hidden]`) carries it at 1. Element types are kept
/// as they are: token ids and masks must not pass through Float.
enum BatchAssembler {
    /// Concatenates `parts` along `axis` (their other dimensions agree).
    static func concatenate(_ parts: [Tensor], axis: Int = 0) -> Tensor {
        var shape = parts[0].shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        switch parts[0].elementType {
        case .int64: return Tensor(shape: shape, int64s: joined(parts, axis: axis) { $0.int64s! })
        case .int32: return Tensor(shape: shape, int32s: joined(parts, axis: axis) { $0.int32s! })
        case .bool: return Tensor(shape: shape, bools: joined(parts, axis: axis) { $0.bools! })
        default: return Tensor(shape: shape, scalars: joined(parts, axis: axis) { $0.scalars })
        }
    }

    /// Row-major concatenation along `axis`: for each index of the outer dimensions, every part's
    /// block of `size(axis) × inner` elements in turn.
    private static func joined<Element>(_ parts: [Tensor], axis: Int, _ values: (Tensor) -> [Element]) -> [Element] {
        let shape = parts[0].shape
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let arrays = parts.map(values)
        var result: [Element] = []
        result.reserveCapacity(arrays.reduce(0) { $0 + $1.count })
        for o in 0..<outer {
            for (part, array) in zip(parts, arrays) {
                let block = part.shape[axis] * inner
                result.append(contentsOf: array[o * block..<(o + 1) * block])
            }
        }
        return result
    }

    /// Splits every output along its batch axis by `rows`; one output list per request.
    static func split(_ outputs: [Tensor], axes: [Int]? = nil, rows: [Int]) throws(SchedulingError) -> [[Tensor]] {
        let total = rows.reduce(0, +)
        var result = Array(repeating: [Tensor](), count: rows.count)
        for (index, output) in outputs.enumerated() {
            let axis = axes?[index] ?? 0
            guard axis < output.shape.count, output.shape[axis] == total else {
                throw .inference(.internalFailure("output of shape \(output.shape) does not carry the batch of \(total) rows on axis \(axis)"))
            }
            let outer = output.shape[..<axis].reduce(1, *)
            let inner = output.shape[(axis + 1)...].reduce(1, *)
            func slices<Element>(_ values: [Element], _ make: ([Int], [Element]) -> Tensor) {
                var start = 0
                for (request, count) in rows.enumerated() {
                    var piece: [Element] = []
                    piece.reserveCapacity(outer * count * inner)
                    for o in 0..<outer {
                        let base = (o * total + start) * inner
                        piece.append(contentsOf: values[base..<base + count * inner])
                    }
                    var shape = output.shape
                    shape[axis] = count
                    result[request].append(make(shape, piece))
                    start += count
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

    /// `tensor` extended along `axis` to `length` with `fill` (a number, or a bool for masks).
    static func pad(_ tensor: Tensor, axis: Int, to length: Int, fill: Bool) -> Tensor {
        let current = tensor.shape[axis]
        guard length > current else { return tensor }
        var shape = tensor.shape
        shape[axis] = length
        let outer = tensor.shape[..<axis].reduce(1, *)
        let inner = tensor.shape[(axis + 1)...].reduce(1, *)
        func padded<Element>(_ values: [Element], _ filler: Element) -> [Element] {
            var result: [Element] = []
            result.reserveCapacity(outer * length * inner)
            for o in 0..<outer {
                result.append(contentsOf: values[o * current * inner..<(o + 1) * current * inner])
                result.append(contentsOf: repeatElement(filler, count: (length - current) * inner))
            }
            return result
        }
        switch tensor.elementType {
        case .int64: return Tensor(shape: shape, int64s: padded(tensor.int64s!, 0))
        case .int32: return Tensor(shape: shape, int32s: padded(tensor.int32s!, 0))
        case .bool: return Tensor(shape: shape, bools: padded(tensor.bools!, fill))
        default: return Tensor(shape: shape, scalars: padded(tensor.scalars, 0))
        }
    }

    /// The first `length` positions of `tensor` along `axis` (undoes ``pad(_:axis:to:fill:)``).
    static func trim(_ tensor: Tensor, axis: Int, to length: Int) -> Tensor {
        let current = tensor.shape[axis]
        guard length < current else { return tensor }
        var shape = tensor.shape
        shape[axis] = length
        let outer = tensor.shape[..<axis].reduce(1, *)
        let inner = tensor.shape[(axis + 1)...].reduce(1, *)
        func trimmed<Element>(_ values: [Element]) -> [Element] {
            var result: [Element] = []
            result.reserveCapacity(outer * length * inner)
            for o in 0..<outer { result.append(contentsOf: values[o * current * inner..<(o * current + length) * inner]) }
            return result
        }
        switch tensor.elementType {
        case .int64: return Tensor(shape: shape, int64s: trimmed(tensor.int64s!))
        case .int32: return Tensor(shape: shape, int32s: trimmed(tensor.int32s!))
        case .bool: return Tensor(shape: shape, bools: trimmed(tensor.bools!))
        default: return Tensor(shape: shape, scalars: trimmed(tensor.scalars))
        }
    }
}
