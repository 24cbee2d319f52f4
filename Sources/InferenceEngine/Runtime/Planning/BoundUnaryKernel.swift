/// Relu, Sigmoid or Tanh over a planned float tensor.
final class BoundUnaryKernel: BoundKernel {
    let op: UnaryOperator
    let count: Int

    init(op: UnaryOperator, count: Int) {
        self.op = op
        self.count = count
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        ElementwiseKernel.unary(op, io.input(0), io.output(0), count: count)
    }
}
