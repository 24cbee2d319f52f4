/// Relu, Sigmoid or Tanh over a planned float tensor.
final class BoundUnaryKernel: BoundKernel {
    let op: UnaryOperator
    let count: Int

    init(op: UnaryOperator, count: Int) {
        self.op = op
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        let x: UnsafePointer<Float> = io.input(0), y: UnsafeMutablePointer<Float> = io.output(0)
        IntraOpPool.forEachElementChunk(of: count, on: context.pool) { range in
            ElementwiseKernel.unary(op, x + range.lowerBound, y + range.lowerBound, count: range.count)
        }
    }
}
