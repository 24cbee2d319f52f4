/// Add, Sub, Mul or Div with the broadcast pattern of one plan's shapes.
final class BoundBinaryKernel: BoundKernel {
    let op: BinaryOperator
    let pattern: BroadcastPattern

    init(op: BinaryOperator, pattern: BroadcastPattern) {
        self.op = op
        self.pattern = pattern
    }

    func execute(_ io: BoundIO, _ context: ExecutionContext) {
        pattern.apply(op, io.input(0), io.input(1), io.output(0))
    }
}
