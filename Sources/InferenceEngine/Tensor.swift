#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, dense, row-major tensor.
///
/// Public tensors are float32 in v0. Storage is an internal enum (see `TensorStorage`) so that
/// more element types can be added later without changing this API; constants such as int64
/// Reshape shapes already use it internally.
public struct Tensor: Sendable {
    /// The dimensions, outermost first. Changing it must keep the element count unchanged
    /// (checked with a precondition), which makes it a free reshape.
    public var shape: [Int] {
        didSet {
            precondition(ShapeMath.elementCount(shape) == storage.count,
                         "Tensor.shape \(shape) does not match \(storage.count) elements")
        }
    }

    var storage: TensorStorage

    /// Creates a float32 tensor. Precondition: every dimension is ≥ 0 and their product equals
    /// `scalars.count`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(ShapeMath.elementCount(shape) == scalars.count,
                     "Tensor shape \(shape) does not match \(scalars.count) scalars")
        self.shape = shape
        self.storage = .float32(scalars)
    }

    /// Creates a float32 tensor from little-endian float32 bytes (the wire format).
    ///
    /// Throws ``InferenceError/invalidInput(_:)`` (rather than trapping, because the bytes
    /// usually come straight from a client request) if a dimension is negative, the element
    /// count overflows, or `copyingFloat32Bytes.count != 4 × elementCount`.
    public init(shape: [Int], copyingFloat32Bytes bytes: UnsafeRawBufferPointer) throws(InferenceError) {
        guard let count = ShapeMath.elementCount(shape, limit: Int.max / 4) else {
            throw .invalidInput("invalid tensor shape \(shape.shapeDescription)")
        }
        guard bytes.count == count * 4 else {
            throw .invalidInput("tensor of shape \(shape.shapeDescription) needs \(count * 4) bytes of float32 data, got \(bytes.count)")
        }
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            if count > 0 { memcpy(buffer.baseAddress!, bytes.baseAddress!, count * 4) }
            #else
            for i in 0..<count {
                buffer[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
            #endif
            initialized = count
        }
        self.shape = shape
        self.storage = .float32(values)
    }

    init(shape: [Int], storage: TensorStorage) {
        self.shape = shape
        self.storage = storage
    }

    /// The element type (``ElementType/float32`` for every tensor a client creates or receives).
    public var elementType: ElementType { storage.elementType }

    /// Number of elements (product of ``shape``; 1 for a scalar).
    public var elementCount: Int { storage.count }

    /// The elements in row-major order. Non-float32 storage (internal constants only) is
    /// converted.
    public var scalars: [Float] {
        switch storage {
        case .float32(let values): values
        case .int64(let values): values.map { Float($0) }
        }
    }

    /// Calls `body` with the raw little-endian float32 bytes, for writing straight into a
    /// response without an intermediate copy.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .float32(let values):
            return try values.withUnsafeBytes(body)
        case .int64:
            return try scalars.withUnsafeBytes(body)
        }
    }

    /// The float32 elements, or `nil` for other element types. Internal: kernels use it.
    var floats: [Float]? {
        if case .float32(let values) = storage { return values }
        return nil
    }
}
