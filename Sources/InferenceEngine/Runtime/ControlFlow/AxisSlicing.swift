/// Taking one position out of a tensor along an axis and stacking equally shaped tensors
/// along a new axis: how Scan walks its inputs and how Loop and Scan assemble their scan
/// outputs. Element-type generic through ``TensorStorage/gathered(_:)``.
enum AxisSlicing {
    /// `tensor[..., index, ...]` at `axis`, with that axis removed.
    static func slice(_ tensor: Tensor, axis: Int, index: Int) -> Tensor {
        let shape = tensor.shape
        var outShape = shape
        outShape.remove(at: axis)
        if axis == 0 {
            let size = ShapeMath.product(shape, 1..<shape.count)
            return Tensor(shape: outShape, storage: tensor.storage.gathered(Array((index * size)..<((index + 1) * size))))
        }
        let outer = ShapeMath.product(shape, 0..<axis), inner = ShapeMath.product(shape, (axis + 1)..<shape.count)
        let length = shape[axis]
        var indices: [Int] = []
        indices.reserveCapacity(outer * inner)
        for o in 0..<outer {
            let base = (o * length + index) * inner
            for j in 0..<inner { indices.append(base + j) }
        }
        return Tensor(shape: outShape, storage: tensor.storage.gathered(indices))
    }

    /// The `parts` (all of shape `elementShape` and type `type`, checked by the caller)
    /// stacked along a new `axis` in `0...elementShape.count`. No parts give a tensor with a 0
    /// at `axis`.
    static func stack(_ parts: [Tensor], axis: Int, elementShape: [Int], type: ElementType) -> Tensor {
        var outShape = elementShape
        outShape.insert(parts.count, at: axis)
        let flat = TensorStorage.concatenated(parts.map(\.storage), as: type)
        if axis == 0 || parts.count <= 1 { return Tensor(shape: outShape, storage: flat) }
        let outer = ShapeMath.product(elementShape, 0..<axis)
        let inner = ShapeMath.product(elementShape, axis..<elementShape.count)
        let size = outer * inner
        var indices: [Int] = []
        indices.reserveCapacity(size * parts.count)
        for o in 0..<outer {
            for k in 0..<parts.count {
                let base = k * size + o * inner
                for j in 0..<inner { indices.append(base + j) }
            }
        }
        return Tensor(shape: outShape, storage: flat.gathered(indices))
    }
}
