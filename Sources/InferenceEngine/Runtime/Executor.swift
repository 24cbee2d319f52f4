#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a ``CompiledGraph`` for one request.
///
/// All per-request state (the slot array and the buffers) is local to `execute`, so any
/// number of threads may execute the same graph at once. The only shared mutable state is the
/// ``ShapeValueCache``: values that depend on nothing but the input shapes (Shape → Gather →
/// Concat → Reshape chains) are computed once per distinct set of input shapes.
extension CompiledGraph {
    /// - Parameter symbols: the request's sizes of the named input dimensions; debug builds
    ///   check every symbolic dimension inferred at load against them.
    /// - Parameter context: what the kernels may use beyond the calling thread.
    /// - Parameter recorder: collects every value's shape for a ``ShapePlan``.
    func execute(_ inputs: [Tensor], symbols: [String: Int] = [:], context: ExecutionContext = .serial,
                 recorder: PlanRecorder? = nil) throws(InferenceError) -> [Tensor] {
        var slots = [Tensor?](repeating: nil, count: valueCount)
        for (slot, tensor) in constants { slots[slot] = tensor }
        for (slot, tensor) in zip(inputSlots, inputs) { slots[slot] = tensor }
        if let recorder {
            for (slot, tensor) in constants { recorder.record(slot, tensor, constant: true) }
            for (slot, tensor) in zip(inputSlots, inputs) { recorder.record(slot, tensor, constant: false) }
        }
        // Buffers this run must never hand to its arena even when a node passes them through
        // (Identity, Reshape, a no-op Slice): the caller's inputs, constants and shape-cached
        // values are shared with other runs and threads; outputs escape to the caller.
        var shared = SharedBuffers(constants: constantAddresses)
        for tensor in inputs { shared.insert(tensor) }

        var cachedShapeValues = false
        var key: [[Int]] = []
        if hasShapeOnlyNodes {
            key = inputs.map(\.shape)
            if let values = shapeCache.lookup(key) {
                for (slot, tensor) in values {
                    slots[slot] = tensor
                    shared.insert(tensor)
                    recorder?.record(slot, tensor, constant: true)
                }
                cachedShapeValues = true
            }
        }
        var recorded: [(Int, Tensor)] = []
        // The run's arena: intermediates go back to it at their last use and the hot kernels
        // take their outputs from it, so a repeated input shape reuses the same buffers.
        var context = context
        let arena = arenas.borrow()
        defer { arenas.giveBack(arena) }
        context.arena = arena
        var args: [Tensor?] = []

        for step in steps {
            if cachedShapeValues && step.shapeOnly {
                for s in step.release { slots[s] = nil }
                continue
            }
            args.removeAll(keepingCapacity: true)
            for s in step.inputs { args.append(s >= 0 ? slots[s] : nil) }
            let results = try NodeExecutor(step: step, context: context).run(args)
            // Drop the argument references first, so a released buffer is the arena's alone.
            args.removeAll(keepingCapacity: true)
            for (i, s) in step.outputs.enumerated() where s >= 0 {
                guard i < results.count else {
                    throw .internalFailure("node '\(step.node.name)' (\(step.node.opType)) produced \(results.count) outputs, expected \(step.outputs.count)")
                }
                slots[s] = results[i]
                recorder?.record(s, results[i], constant: step.shapeOnly)
                #if DEBUG
                // Load-time shape inference must agree with what ran: rank and every fixed dimension.
                let node = step.node
                if i < node.inferred.count, let inferred = node.inferred[i] {
                    let got = results[i].shape
                    let agrees = inferred.rank == got.count && zip(inferred.dims, got).allSatisfy { d, g in
                        switch d {
                        case .fixed(let n): n == g
                        case .symbolic(let s): symbols[s].map { $0 == g } ?? true
                        case .unknown: true
                        }
                    }
                    if !agrees {
                        throw .internalFailure("node '\(node.name)' (\(node.opType)) output #\(i): inferred \(inferred.description) at load but computed \(got.shapeDescription)")
                    }
                }
                #endif
                if hasShapeOnlyNodes && step.shapeOnly { recorded.append((s, results[i])); shared.insert(results[i]) }
            }
            for s in step.recycle {
                guard let tensor = slots[s], case .float32(let buffer) = tensor.storage,
                      !shared.contains(tensor), !outputSlots.contains(where: { slots[$0].map(SharedBuffers.address) == SharedBuffers.address(tensor) })
                else { continue }
                slots[s] = nil
                arena.give(buffer)
            }
            for s in step.release { slots[s] = nil }
        }
        if hasShapeOnlyNodes && !cachedShapeValues {
            // Large request-shaped values (e.g. attention masks) are recomputed rather than kept
            // for every shape a client might send.
            let elements = recorded.reduce(0) { $0 + $1.1.elementCount }
            if elements <= ShapeValueCache.maxElementsPerEntry { shapeCache.store(key, recorded) }
        }

        var outputs: [Tensor] = []
        for s in outputSlots {
            guard let t = slots[s] else { throw .internalFailure("output slot \(s) was not computed") }
            outputs.append(t)
        }
        return outputs
    }
}

/// Values of the shape-only nodes per distinct tuple of input shapes, bounded (cleared when
/// full) and guarded by a pthread mutex.
final class ShapeValueCache: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var entries: [[[Int]]: [(Int, Tensor)]] = [:]
    static let capacity = 64
    static let maxElementsPerEntry = 1 << 16

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func lookup(_ key: [[Int]]) -> [(Int, Tensor)]? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return entries[key]
    }

    func store(_ key: [[Int]], _ values: [(Int, Tensor)]) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if entries.count >= Self.capacity { entries.removeAll() }
        entries[key] = values
    }

    var count: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return entries.count
    }
}

/// Executes one node: computes the output shape from the actual input shapes (shapes may
/// differ per request) and calls the kernel.
struct NodeExecutor {
    let step: ExecutionStep
    var context = ExecutionContext.serial

    /// The node being run (names and slots for messages; the operation).
    var node: CompiledNode { step.node }

    init(step: ExecutionStep, context: ExecutionContext = .serial) {
        self.step = step
        self.context = context
    }

    /// A one-off executor (load-time constant folding, tests).
    init(node: CompiledNode, context: ExecutionContext = .serial) {
        self.init(step: ExecutionStep(node: node), context: context)
    }

    /// An output buffer of `count` floats, filled by `body` (same contract as
    /// `Array(unsafeUninitializedCapacity:initializingWith:)`, which it falls back to): from the
    /// run's arena when it has one that size.
    @inline(__always)
    func outputFloats(_ count: Int, _ body: (inout UnsafeMutableBufferPointer<Float>, inout Int) -> Void) -> [Float] {
        TensorArena.floats(count, from: context.arena, body)
    }

    func invalid(_ message: String) -> InferenceError {
        .invalidInput("node '\(node.name)' (\(node.opType)): \(message)")
    }

    func floats(_ t: Tensor?) throws(InferenceError) -> (values: [Float], shape: [Int]) {
        guard let t, let values = t.floats else {
            throw .internalFailure("node '\(node.name)' (\(node.opType)): missing or non-float input")
        }
        return (values, t.shape)
    }

    func run(_ args: [Tensor?]) throws(InferenceError) -> [Tensor] {
        if case .kernel(let kernel) = step.node.operation { return try kernel.run(args, self) }
        return [try runSingle(args)]
    }

    func runSingle(_ args: [Tensor?]) throws(InferenceError) -> Tensor {
        switch step.node.operation {
        case .kernel:
            throw .internalFailure("unreachable")
        case .identity:
            guard let x = args[0] else { throw .internalFailure("missing input") }
            return x
        case .unary(let op):
            let (x, shape) = try floats(args[0])
            let y = outputFloats(x.count) { out, n in
                x.withUnsafeBufferPointer { src in
                    if let s = src.baseAddress, let d = out.baseAddress { ElementwiseKernel.unary(op, s, d, count: x.count) }
                }
                n = x.count
            }
            return Tensor(shape: shape, storage: .float32(y))
        case .binary(let op):
            let (a, aShape) = try floats(args[0])
            let (b, bShape) = try floats(args[1])
            guard let outShape = Broadcast.shape(aShape, bShape) else {
                throw invalid("shapes \(aShape.shapeDescription) and \(bShape.shapeDescription) cannot be broadcast together")
            }
            _ = try checkedCount(outShape)
            return Tensor(shape: outShape, storage: .float32(Broadcast.binary(op, a, aShape, b, bShape, outShape: outShape, arena: context.arena)))
        case .softmax(let axis, let coerce):
            return try mapAlongAxis(args[0], axis: axis, coerce: coerce, SoftmaxKernel.softmax)
        case .flatten(let axis):
            guard var x = args[0] else { throw .internalFailure("missing input") }
            let shape = x.shape
            x.shape = [ShapeMath.product(shape, 0..<axis), ShapeMath.product(shape, axis..<shape.count)]
            return x
        case .reshape(let target, let allowZero):
            guard var x = args[0] else { throw .internalFailure("missing input") }
            x.shape = try reshapeTarget(input: x.shape, target: target, allowZero: allowZero)
            return x
        case .matMul:
            let (a, aShape) = try floats(args[0])
            let (b, bShape) = try floats(args[1])
            return try MatMulExecutor(node: self).run(a, aShape, b, bShape)
        case .gemm(let attributes):
            return try GemmExecutor(node: self, attributes: attributes).run(args)
        }
    }

    func reshapeTarget(input: [Int], target: [Int64], allowZero: Bool) throws(InferenceError) -> [Int] {
        let count = ShapeMath.product(input, 0..<input.count)
        var out: [Int] = []
        var inferIndex: Int?
        for (i, v) in target.enumerated() {
            if v == -1 { inferIndex = i; out.append(1) }
            else if v == 0 && !allowZero { out.append(input[i]) }
            else { out.append(Int(v)) }
        }
        guard let known = ShapeMath.elementCount(out) else { throw invalid("invalid target shape \(target)") }
        if let i = inferIndex {
            guard known != 0, count % known == 0 else {
                throw invalid("cannot reshape \(input.shapeDescription) to \(target)")
            }
            out[i] = count / known
        } else if known != count {
            throw invalid("cannot reshape \(input.shapeDescription) (\(count) elements) to \(out.shapeDescription)")
        }
        return out
    }
}
