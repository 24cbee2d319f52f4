#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, dense, row-major tensor.
///
/// Elements are float32 (compute), int64, int32 or bool (shapes, indices, token ids, masks).
/// Storage is an internal enum (see `TensorStorage`).
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
        let values = [Float](uninitializedCount: count) { buffer, initialized in
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

    /// Creates an int64 tensor (token ids, indices, shapes). Precondition: the shape's element
    /// count equals `int64s.count`.
    public init(shape: [Int], int64s: [Int64]) {
        precondition(ShapeMath.elementCount(shape) == int64s.count, "Tensor shape \(shape) does not match \(int64s.count) values")
        self.shape = shape
        self.storage = .int64(int64s)
    }

    /// Creates an int32 tensor. Precondition: the shape's element count equals `int32s.count`.
    public init(shape: [Int], int32s: [Int32]) {
        precondition(ShapeMath.elementCount(shape) == int32s.count, "Tensor shape \(shape) does not match \(int32s.count) values")
        self.shape = shape
        self.storage = .int32(int32s)
    }

    /// Creates a bool tensor (masks). Precondition: the shape's element count equals `bools.count`.
    public init(shape: [Int], bools: [Bool]) {
        precondition(ShapeMath.elementCount(shape) == bools.count, "Tensor shape \(shape) does not match \(bools.count) values")
        self.shape = shape
        self.storage = .bool(bools)
    }

    /// Creates a tensor of `elementType` from raw little-endian bytes (the wire format): 4 bytes
    /// per float32/int32 element, 8 per int64, 1 per bool (0 is false, any other byte is true,
    /// as numpy and onnxruntime read it).
    ///
    /// Throws ``InferenceError/invalidInput(_:)`` for an element type the engine does not hold
    /// (only float32, int64, int32 and bool), a negative dimension, an element count that
    /// overflows, or a byte count that is not `width × elementCount`.
    public init(shape: [Int], elementType: ElementType, copyingBytes bytes: UnsafeRawBufferPointer) throws(InferenceError) {
        guard TensorStorage.supportedTypes.contains(elementType), let width = elementType.byteWidth else {
            throw .invalidInput("element type \(elementType) is not supported (float32, int64, int32 and bool are)")
        }
        guard let count = ShapeMath.elementCount(shape, limit: Int.max / 8) else {
            throw .invalidInput("invalid tensor shape \(shape.shapeDescription)")
        }
        guard bytes.count == count * width else {
            throw .invalidInput("tensor of shape \(shape.shapeDescription) needs \(count * width) bytes of \(elementType) data, got \(bytes.count)")
        }
        switch elementType {
        case .float32:
            try self.init(shape: shape, copyingFloat32Bytes: bytes)
        case .int64:
            self.init(shape: shape, storage: .int64(Self.load(bytes, count: count) { Int64(littleEndian: $0) }))
        case .int32:
            self.init(shape: shape, storage: .int32(Self.load(bytes, count: count) { Int32(littleEndian: $0) }))
        default:
            self.init(shape: shape, storage: .bool((0..<count).map { bytes[$0] != 0 }))
        }
    }

    static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, count: Int, _ convert: (T) -> T) -> [T] {
        [T](uninitializedCount: count) { buffer, initialized in
            for i in 0..<count {
                buffer[i] = convert(bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            initialized = count
        }
    }

    /// The element type: float32, int64, int32 or bool.
    public var elementType: ElementType { storage.elementType }

    /// Number of elements (product of ``shape``; 1 for a scalar).
    public var elementCount: Int { storage.count }

    /// The elements in row-major order converted to Float (bool → 0/1; large int64 values
    /// lose precision). Use ``int64s``, ``int32s`` or ``bools`` for exact values.
    public var scalars: [Float] { storage.floatValues }

    /// The int64 elements, or `nil` if this is not an int64 tensor.
    public var int64s: [Int64]? { if case .int64(let v) = storage { v } else { nil } }
    /// The int32 elements, or `nil` if this is not an int32 tensor.
    public var int32s: [Int32]? { if case .int32(let v) = storage { v } else { nil } }
    /// The bool elements, or `nil` if this is not a bool tensor.
    public var bools: [Bool]? { if case .bool(let v) = storage { v } else { nil } }

    /// Calls `body` with the raw little-endian bytes of the elements in their own type
    /// (4 bytes per float32/int32, 8 per int64, 1 byte 0/1 per bool): exactly what
    /// ``init(shape:elementType:copyingBytes:)`` reads, for writing straight into a response.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// Calls `body` with the elements' bytes (the layout of ``withUnsafeBytes(_:)``) for
    /// writing in place, e.g. to refill an input between runs without allocating. The storage
    /// is detached from the tensor for the call, so when nothing else shares it no copy is made.
    /// For a bool tensor, write only 0 or 1 bytes.
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBytes(body)
    }

    /// The float32 elements, or `nil` for other element types. Internal: kernels use it.
    var floats: [Float]? {
        if case .float32(let values) = storage { return values }
        return nil
    }
}
