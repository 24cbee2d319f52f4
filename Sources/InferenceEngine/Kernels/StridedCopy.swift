#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Copies a strided view (transpose, slice, split, expand, tile) straight into a dense buffer,
/// without materialising an index per element: dimensions that stay contiguous are merged,
/// and rows whose inner stride is 1 are copied with memcpy.
///
/// The copy works on raw bytes by element width, so the same loop serves every element type,
/// and it is split into the merge (done once per shape by a bound kernel, per call by the
/// general executor) and the row copy (which needs no arrays, only a stack index).
enum StridedCopy {
    /// Bytes below which a copy stays on the calling thread: handing rows to the pool costs
    /// more than copying them.
    static let parallelBytes = 1 << 18

    /// Writes the view `outShape`/`strides` merged to the fewest dimensions into `dims` and
    /// `steps` (room for `max(outShape.count, 1)` each): a dimension joins the next when the
    /// view is contiguous across both, and size-1 dimensions are dropped. Returns the merged
    /// rank, at least 1.
    static func merge(_ outShape: [Int], _ strides: [Int], dims: UnsafeMutablePointer<Int>, steps: UnsafeMutablePointer<Int>) -> Int {
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
        return rank
    }

    /// Copies rows `rows` of a merged view (a row is the `dims[rank - 1]` elements of the
    /// innermost dimension) from `source` to the matching rows of the dense `target`.
    static func copyRows(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, width: Int, base: Int,
                         dims: UnsafePointer<Int>, steps: UnsafePointer<Int>, rank: Int, rows: Range<Int>) {
        switch width {
        case 1: copyRows(source, target, UInt8.self, base, dims, steps, rank, rows)
        case 2: copyRows(source, target, UInt16.self, base, dims, steps, rank, rows)
        case 4: copyRows(source, target, UInt32.self, base, dims, steps, rank, rows)
        default: copyRows(source, target, UInt64.self, base, dims, steps, rank, rows)
        }
    }

    @inline(__always)
    private static func copyRows<T: FixedWidthInteger>(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, _: T.Type,
                                                       _ base: Int, _ dims: UnsafePointer<Int>, _ steps: UnsafePointer<Int>,
                                                       _ rank: Int, _ rows: Range<Int>) {
        guard !rows.isEmpty else { return }
        let width = MemoryLayout<T>.stride
        let inner = dims[rank - 1], innerStep = steps[rank - 1]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { scratch in
            let index = scratch.baseAddress!
            // Start the odometer at the first row of the range.
            var offset = base
            var rest = rows.lowerBound
            var d = rank - 2
            while d >= 0 {
                index[d] = rest % dims[d]
                rest /= dims[d]
                offset += index[d] * steps[d]
                d -= 1
            }
            var out = target + rows.lowerBound * inner * width
            for _ in rows {
                let row = source + offset * width
                if innerStep == 1 {
                    out.copyMemory(from: row, byteCount: inner * width)
                } else if innerStep == 0 {
                    let value = row.load(as: T.self)
                    let o = out.assumingMemoryBound(to: T.self)
                    for j in 0..<inner { o[j] = value }
                } else {
                    let o = out.assumingMemoryBound(to: T.self)
                    for j in 0..<inner { o[j] = row.load(fromByteOffset: j * innerStep * width, as: T.self) }
                }
                out += inner * width
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

    /// Copies the view `outShape`/`base`/`strides` of `source` into the dense `target`,
    /// merging it on the stack first (the general executor's path: one call per request).
    static func copy(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, width: Int,
                     _ outShape: [Int], base: Int, strides: [Int], pool: IntraOpPool? = nil) {
        let count = ShapeMath.product(outShape, 0..<outShape.count)
        guard count > 0 else { return }
        let capacity = max(outShape.count, 1)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * capacity) { scratch in
            let dims = scratch.baseAddress!, steps = dims + capacity
            let rank = merge(outShape, strides, dims: dims, steps: steps)
            copy(source, target, width: width, base: base, dims: dims, steps: steps, rank: rank, count: count, pool: pool)
        }
    }

    /// Copies a merged view of `count` elements, split by rows over `pool` when it is large.
    static func copy(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, width: Int, base: Int,
                     dims: UnsafePointer<Int>, steps: UnsafePointer<Int>, rank: Int, count: Int, pool: IntraOpPool?) {
        guard count > 0 else { return }
        let rows = count / dims[rank - 1]
        IntraOpPool.forEachChunk(of: rows, on: pool, worthSplitting: count * width >= parallelBytes) { range in
            copyRows(source, target, width: width, base: base, dims: dims, steps: steps, rank: rank, rows: range)
        }
    }
}

/// A strided view of one buffer merged once for a shape (``StridedCopy/merge``), so that a
/// bound kernel copies it without recomputing anything per run.
struct StridedView: Sendable {
    let base: Int
    let dims: [Int]
    let steps: [Int]
    /// Elements in the view.
    let count: Int

    init(_ outShape: [Int], base: Int = 0, strides: [Int]) {
        let capacity = max(outShape.count, 1)
        var dims = [Int](repeating: 0, count: capacity), steps = [Int](repeating: 0, count: capacity)
        let rank = dims.withUnsafeMutableBufferPointer { d in
            steps.withUnsafeMutableBufferPointer { s in StridedCopy.merge(outShape, strides, dims: d.baseAddress!, steps: s.baseAddress!) }
        }
        self.base = base
        self.dims = Array(dims[..<rank])
        self.steps = Array(steps[..<rank])
        count = ShapeMath.product(outShape, 0..<outShape.count)
    }

    /// Whether the view is its source's first `count` elements in order: the copy can then be
    /// avoided by sharing memory.
    var isContiguousPrefix: Bool { count == 0 || (base == 0 && dims.count == 1 && steps[0] == 1) }

    /// Copies the view from `source` into the dense `target`.
    func copy(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, width: Int, pool: IntraOpPool?) {
        dims.withUnsafeBufferPointer { d in
            steps.withUnsafeBufferPointer { s in
                StridedCopy.copy(source, target, width: width, base: base, dims: d.baseAddress!, steps: s.baseAddress!,
                                 rank: d.count, count: count, pool: pool)
            }
        }
    }
}

extension TensorStorage {
    /// Elements at `base + Σ index[d]·strides[d]` for every index of `outShape`, in row-major
    /// order. Strides may be 0 (broadcast) or any step.
    /// Float results come from `arena` when it has a buffer of the size.
    func strided(_ outShape: [Int], base: Int = 0, strides: [Int], arena: TensorArena? = nil, pool: IntraOpPool? = nil) -> TensorStorage {
        let count = ShapeMath.product(outShape, 0..<outShape.count)
        return Self.writing(elementType, count: count, arena: arena) { target in
            withUnsafeBytes { source in
                guard let s = source.baseAddress else { return }
                StridedCopy.copy(s, target, width: elementType.byteWidth ?? 4, outShape, base: base, strides: strides, pool: pool)
            }
        }
    }

    /// `count` elements of `type` whose bytes `body` writes (every one of them): the data
    /// movement kernels copy bytes by element width whatever the type.
    static func writing<E: Error>(_ type: ElementType, count: Int, arena: TensorArena? = nil,
                                  _ body: (UnsafeMutableRawPointer) throws(E) -> Void) throws(E) -> TensorStorage {
        var storage: TensorStorage = type == .float32 ? .float32(TensorArena.floats(count, from: arena) { _, n in n = count })
            : uninitialized(type, count: count)
        var failure: E?
        storage.withUnsafeMutableBytes { bytes in
            guard count > 0, let base = bytes.baseAddress else { return }
            do throws(E) { try body(base) } catch { failure = error }
        }
        if let failure { throw failure }
        return storage
    }

    /// The elements' bytes (4 per float32/int32, 8 per int64, 1 per bool).
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .float32(let v): try v.withUnsafeBytes(body)
        case .int64(let v): try v.withUnsafeBytes(body)
        case .int32(let v): try v.withUnsafeBytes(body)
        case .bool(let v): try v.withUnsafeBytes(body)
        }
    }

    /// The elements' bytes for writing, in place when nothing else shares the storage.
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .float32(var v):
            self = .float32([])
            defer { self = .float32(v) }
            return try v.withUnsafeMutableBytes(body)
        case .int64(var v):
            self = .int64([])
            defer { self = .int64(v) }
            return try v.withUnsafeMutableBytes(body)
        case .int32(var v):
            self = .int32([])
            defer { self = .int32(v) }
            return try v.withUnsafeMutableBytes(body)
        case .bool(var v):
            self = .bool([])
            defer { self = .bool(v) }
            return try v.withUnsafeMutableBytes(body)
        }
    }
}
