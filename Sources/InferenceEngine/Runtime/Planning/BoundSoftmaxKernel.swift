/// Softmax with its outer/axis/inner extents fixed by one plan's shape.
final class BoundSoftmaxKernel: BoundKernel {
    let outer: Int, length: Int, inner: Int

    init(shape: [Int], axis: Int, coerceTo2D: Bool) {
        let rank = shape.count
        if rank == 0 {
            (outer, length, inner) = (1, 1, 1)
        } else if coerceTo2D {
            (outer, length, inner) = (ShapeMath.product(shape, 0..<axis), ShapeMath.product(shape, axis..<rank), 1)
        } else {
            (outer, length, inner) = (ShapeMath.product(shape, 0..<axis), shape[axis], ShapeMath.product(shape, (axis + 1)..<rank))
        }
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        SoftmaxKernel.softmax(io.input(0), io.output(0), outer: outer, axis: length, inner: inner)
    }
}
