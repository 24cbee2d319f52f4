/// A chain of data-movement nodes (Reshape, Squeeze, Unsqueeze, Flatten, Transpose, a Gather of
/// one constant index, Expand) that a fused kernel absorbed: it reads its operand through the
/// chain as a ``TensorView`` instead of having each node copy the data.
///
/// Steps that need a shape or axes tensor name the fused node's input holding it (a value that
/// depends only on input shapes, so a plan resolves the chain once).
struct ViewChain: Sendable {
    enum Step: Sendable {
        case transpose([Int])
        /// A Reshape-like node; `operand` is the fused node's input with its target or axes.
        case reshape(ReshapeKernel, operand: Int?)
        /// Gather of one index (a scalar) along `axis`; negative indices count from the end.
        case select(axis: Int, index: Int64)
        /// Expand to the shape in the fused node's input `operand`.
        case expand(operand: Int)
    }

    var steps: [Step] = []

    /// Where a kernel finds a chain's result: the view, and the copies to make first when some
    /// step cannot be followed as a view (a Reshape that would split a strided atom unevenly).
    struct Resolution: Sendable {
        /// A dense copy of `view` of `source` into the scratch at float offset `target`.
        struct Copy: Sendable {
            var source: Source
            var view: StridedView
            var target: Int
        }
        enum Source: Sendable, Equatable {
            /// The fused node's operand the chain starts from.
            case operand
            /// Scratch memory at this float offset.
            case scratch(Int)
        }
        var copies: [Copy] = []
        var source: Source = .operand
        var view: TensorView

        /// Adds a dense copy of the current view into the scratch at float offset `target`
        /// and reads that copy from then on; returns the floats it takes.
        mutating func materialize(at target: Int) -> Int {
            let shape = view.shape
            copies.append(Copy(source: source, view: view.dense, target: target))
            source = .scratch(target)
            view = .contiguous(shape)
            return ShapeMath.product(shape, 0..<shape.count)
        }

        /// The buffer the view is over, `operand` being the chain's start.
        func base(operand: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
            switch source {
            case .operand: operand
            case .scratch(let offset): UnsafePointer(scratch + offset)
            }
        }

        /// Runs the copies, `operand` being the chain's start and `scratch` the kernel's.
        func copy(operand: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
            for c in copies {
                let from: UnsafePointer<Float> = switch c.source {
                case .operand: operand
                case .scratch(let offset): UnsafePointer(scratch + offset)
                }
                c.view.copy(from, scratch + c.target, width: MemoryLayout<Float>.stride, pool: nil)
            }
        }
    }

    /// Follows the chain from a dense operand of shape `shape`, copying into the scratch at
    /// float offset `scratch` (advanced past what it uses) where a step cannot be a view.
    /// `operand(i)` is the fused node's input `i` (for the shapes and axes steps read).
    func resolve(_ shape: [Int], operand: (Int) -> Tensor?, scratch: inout Int, _ node: NodeExecutor) throws(InferenceError) -> Resolution {
        var r = Resolution(view: .contiguous(shape))
        for step in steps {
            let current = r.view.shape
            switch step {
            case .transpose(let perm):
                guard perm.count == current.count else { throw node.invalid("cannot transpose \(current.shapeDescription) by \(perm)") }
                r.view = r.view.transposed(perm)
            case .reshape(let kernel, let input):
                let target = try kernel.outputShape(current, input.flatMap(operand), node)
                guard ShapeMath.product(target, 0..<target.count) > 0 else {
                    r.view = .contiguous(target)   // nothing to read; no copy needed
                    continue
                }
                if let view = r.view.reshaped(target) {
                    r.view = view
                } else {
                    scratch += r.materialize(at: scratch)
                    guard let view = r.view.reshaped(target) else { throw node.invalid("cannot reshape \(current.shapeDescription) to \(target.shapeDescription)") }
                    r.view = view
                }
            case .select(let axis, let raw):
                guard axis < current.count else { throw node.invalid("gather axis \(axis) is out of range for \(current.shapeDescription)") }
                let n = Int64(current[axis])
                guard raw >= -n, raw < n else { throw node.invalid("index \(raw) is out of range for axis \(axis) of size \(n)") }
                r.view = r.view.selecting(axis: axis, index: Int(raw < 0 ? raw + n : raw))
            case .expand(let input):
                guard let target = operand(input) else { throw node.invalid("missing Expand shape") }
                r.view = r.view.expanded(to: try ExpandKernel.shape(current, target: try node.ints(target), node))
            }
        }
        return r
    }

    /// For an invertible chain that ends in a dense tensor: where each element of the chain's
    /// start (shape `shape`) lands in that dense result, or nil when a step cannot be undone
    /// as a view. Also returns the result's shape.
    func inverse(_ shape: [Int], operand: (Int) -> Tensor?, _ node: NodeExecutor) throws(InferenceError) -> (view: TensorView?, resultShape: [Int]) {
        var shapes = [shape]
        for step in steps {
            let current = shapes[shapes.count - 1]
            switch step {
            case .transpose(let perm):
                guard perm.count == current.count else { throw node.invalid("cannot transpose \(current.shapeDescription) by \(perm)") }
                shapes.append(perm.map { current[$0] })
            case .reshape(let kernel, let input):
                shapes.append(try kernel.outputShape(current, input.flatMap(operand), node))
            case .select, .expand:
                return (nil, [])
            }
        }
        let resultShape = shapes[shapes.count - 1]
        guard ShapeMath.product(resultShape, 0..<resultShape.count) > 0 else { return (.contiguous(shape), resultShape) }
        var view = TensorView.contiguous(resultShape)
        for (i, step) in steps.enumerated().reversed() {
            switch step {
            case .transpose(let perm):
                var inverse = [Int](repeating: 0, count: perm.count)
                for (k, p) in perm.enumerated() { inverse[p] = k }
                view = view.transposed(inverse)
            case .reshape:
                guard let previous = view.reshaped(shapes[i]) else { return (nil, resultShape) }
                view = previous
            case .select, .expand:
                return (nil, resultShape)
            }
        }
        return (view, resultShape)
    }
}
