/// Raw element access for the pointer-level kernel cores that the general executor and the
/// bound kernels of an execution plan share: the general executor lends a tensor's bytes to
/// the same function the plan calls with arena addresses.
extension Tensor {
    /// Stands in for the address of an empty tensor's elements (Swift gives none); the kernels
    /// never read it, since there is nothing to read.
    nonisolated(unsafe) static let emptyElements = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)

    /// Calls `body` with the address of the elements.
    func withElements<R>(_ body: (UnsafeRawPointer) throws(InferenceError) -> R) throws(InferenceError) -> R {
        let result: Result<R, InferenceError> = withUnsafeBytes { bytes in
            do throws(InferenceError) {
                return .success(try body(bytes.baseAddress ?? UnsafeRawPointer(Self.emptyElements)))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Calls `body` with the address of the elements, which it may overwrite.
    mutating func withMutableElements<R>(_ body: (UnsafeMutableRawPointer) throws(InferenceError) -> R) throws(InferenceError) -> R {
        let result: Result<R, InferenceError> = withUnsafeMutableBytes { bytes in
            do throws(InferenceError) {
                return .success(try body(bytes.baseAddress ?? Self.emptyElements))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

extension NodeExecutor {
    /// A new tensor whose `count` elements `body` writes; float buffers come from the run's arena
    /// when it has one that size (as ``outputFloats(_:_:)``).
    func outputTensor(_ shape: [Int], _ type: ElementType,
                      _ body: (UnsafeMutableRawPointer) throws(InferenceError) -> Void) throws(InferenceError) -> Tensor {
        let count = ShapeMath.product(shape, 0..<shape.count)
        if type == .float32 {
            var failure: InferenceError?
            let values = outputFloats(count) { out, initialized in
                initialized = count
                do throws(InferenceError) {
                    try body(out.baseAddress.map(UnsafeMutableRawPointer.init) ?? Tensor.emptyElements)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            return Tensor(shape: shape, storage: .float32(values))
        }
        var tensor = Tensor(shape: shape, storage: .uninitialized(type, count: count))
        try tensor.withMutableElements(body)
        return tensor
    }
}

extension Tensor {
    /// Calls `body` with the address of an optional tensor's elements (nil when it is absent).
    static func withElements<R>(of tensor: Tensor?, _ body: (UnsafeRawPointer?) throws(InferenceError) -> R) throws(InferenceError) -> R {
        guard let tensor else { return try body(nil) }
        return try tensor.withElements { p throws(InferenceError) in try body(p) }
    }

    /// Calls `body` with the addresses of every tensor's elements, in order.
    static func withElements<R>(of tensors: [Tensor], _ body: (UnsafePointer<UnsafeRawPointer>) throws(InferenceError) -> R) throws(InferenceError) -> R {
        let result: Result<R, InferenceError> = withUnsafeTemporaryAllocation(of: UnsafeRawPointer.self, capacity: max(tensors.count, 1)) { buffer in
            func nest(_ i: Int) throws(InferenceError) -> R {
                if i == tensors.count { return try body(UnsafePointer(buffer.baseAddress!)) }
                return try tensors[i].withElements { p throws(InferenceError) in
                    buffer[i] = p
                    return try nest(i + 1)
                }
            }
            do throws(InferenceError) { return .success(try nest(0)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

extension BoundIO {
    /// Input `index`'s bytes (it must exist).
    @inline(__always)
    func rawInput(_ index: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(addresses[step.inputs[index]]!)
    }

    /// Input `index`'s bytes, or nil when the optional input was omitted.
    @inline(__always)
    func optionalRawInput(_ index: Int) -> UnsafeRawPointer? {
        hasInput(index) ? rawInput(index) : nil
    }

    /// Output `index`'s bytes, or nil when nothing reads that output.
    @inline(__always)
    func optionalRawOutput(_ index: Int) -> UnsafeMutableRawPointer? {
        guard index < step.outputs.count, step.outputs[index] >= 0 else { return nil }
        return addresses[step.outputs[index]]
    }

    /// The error for bad request data found while running this node (built on the error path only).
    func invalid(_ message: String) -> InferenceError {
        .invalidInput("node '\(step.name)' (\(step.opType)): \(message)")
    }
}
