#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Copies a strided view (transpose, slice, split, expand) straight into a new dense buffer,
/// without materialising an index per element: dimensions that stay contiguous are merged,
/// and rows whose inner stride is 1 are copied with memcpy.
extension TensorStorage {
    /// Elements at `base + Σ index[d]·strides[d]` for every index of `outShape`, in row-major
    /// order. Strides may be 0 (broadcast) or any positive step.
    /// Float results come from `arena` when it has a buffer of the size.
    func strided(_ outShape: [Int], base: Int = 0, strides: [Int], arena: TensorArena? = nil) -> TensorStorage {
        switch self {
        case .float32(let v):
            .float32(TensorArena.floats(ShapeMath.product(outShape, 0..<outShape.count), from: arena) { out, initialized in
                v.withUnsafeBufferPointer { src in
                    Self.fillStrided(src, out, outShape, base, strides)
                }
                initialized = ShapeMath.product(outShape, 0..<outShape.count)
            })
        case .int64(let v): .int64(Self.stridedCopy(v, outShape, base, strides))
        case .int32(let v): .int32(Self.stridedCopy(v, outShape, base, strides))
        case .bool(let v): .bool(Self.stridedCopy(v, outShape, base, strides))
        }
    }

    static func stridedCopy<T>(_ source: [T], _ outShape: [Int], _ base: Int, _ strides: [Int]) -> [T] {
        let count = ShapeMath.product(outShape, 0..<outShape.count)
        return source.withUnsafeBufferPointer { src in
            [T](unsafeUninitializedCapacity: count) { out, initialized in
                fillStrided(src, out, outShape, base, strides)
                initialized = count
            }
        }
    }

    /// Writes the strided view of `source` into the first `product(outShape)` elements of
    /// `out` (whose count may be larger: array initialisers hand out their whole capacity).
    static func fillStrided<T>(_ source: UnsafeBufferPointer<T>, _ out: UnsafeMutableBufferPointer<T>,
                               _ outShape: [Int], _ base: Int, _ strides: [Int]) {
        let count = ShapeMath.product(outShape, 0..<outShape.count)
        precondition(count <= out.count)
        guard count > 0, let s = source.baseAddress, let o = out.baseAddress else { return }
        // Scratch for the merged view on the stack: transposes run per request, and three
        // small heap arrays per call were a visible share of a small model's run.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * max(outShape.count, 1)) { scratch in
            let dims = scratch.baseAddress!, steps = dims + max(outShape.count, 1), index = steps + max(outShape.count, 1)
            // Merge d into d+1 where the view is contiguous across both; drop size-1 dims.
            var rank = 0
            for (d, stride) in zip(outShape, strides) where d != 1 {
                if rank > 0, steps[rank - 1] == stride * d {
                    dims[rank - 1] *= d
                    steps[rank - 1] = stride
                } else {
                    dims[rank] = d
                    steps[rank] = stride
                    rank += 1
                }
            }
            if rank == 0 { dims[0] = 1; steps[0] = 0; rank = 1 }
            index.initialize(repeating: 0, count: rank)
            let inner = dims[rank - 1], innerStep = steps[rank - 1]
            var offset = base
            var written = 0
            while written < count {
                let row = s + offset
                if innerStep == 1 {
                    (o + written).initialize(from: row, count: inner)
                } else if innerStep == 0 {
                    (o + written).initialize(repeating: row.pointee, count: inner)
                } else {
                    for j in 0..<inner { (o + written + j).initialize(to: row[j * innerStep]) }
                }
                written += inner
                var d = rank - 2
                while d >= 0 {
                    index[d] += 1
                    offset += steps[d]
                    if index[d] < dims[d] { break }
                    offset -= steps[d] * dims[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
}

extension TensorStorage {
    /// Concatenation of runs: run `i` is `lengths[i]` elements from `starts[i]` in
    /// `sources[sourceOf[i]]` (Gather along an axis, Concat). Callers pass same-typed sources.
    static func runs(_ sources: [TensorStorage], sourceOf: [Int], starts: [Int], lengths: [Int]) -> TensorStorage {
        switch sources[0] {
        case .float32: .float32(copyRuns(sources.map { if case .float32(let v) = $0 { v } else { [] } }, sourceOf, starts, lengths))
        case .int64: .int64(copyRuns(sources.map { if case .int64(let v) = $0 { v } else { [] } }, sourceOf, starts, lengths))
        case .int32: .int32(copyRuns(sources.map { if case .int32(let v) = $0 { v } else { [] } }, sourceOf, starts, lengths))
        case .bool: .bool(copyRuns(sources.map { if case .bool(let v) = $0 { v } else { [] } }, sourceOf, starts, lengths))
        }
    }

    static func copyRuns<T>(_ sources: [[T]], _ sourceOf: [Int], _ starts: [Int], _ lengths: [Int]) -> [T] {
        let count = lengths.reduce(0, +)
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            var written = 0
            for i in starts.indices where lengths[i] > 0 {
                sources[sourceOf[i]].withUnsafeBufferPointer { src in
                    (out.baseAddress! + written).initialize(from: src.baseAddress! + starts[i], count: lengths[i])
                }
                written += lengths[i]
            }
            initialized = count
        }
    }
}
