#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float buffers a run has finished with, kept by exact element count for the next node or
/// the next request that needs one that size.
///
/// For a given input shape every request allocates the same sizes in the same order, and the
/// executor hands each intermediate back at its last use (liveness), so after the first
/// request of a shape the hot kernels' outputs come from here instead of `malloc` and fresh
/// pages. One arena serves one run at a time (``ArenaPool`` lends them out).
///
/// Reuse is safe even when a buffer is still shared (a Reshape alias, an output the caller
/// kept): kernels write through `withUnsafeMutableBufferPointer`, which copies a shared buffer
/// first, so sharing costs an allocation, never a wrong value.
///
/// `@unchecked Sendable`: it travels in an ``ExecutionContext`` but is confined to the one run
/// that borrowed it.
final class TensorArena: @unchecked Sendable {
    /// Buffers by size: `lists[listIndex[count]]`. Array-of-arrays rather than a dictionary
    /// of arrays because Array's subscript mutates an element in place, while the dictionary's
    /// copied the list (one allocation) on every take.
    private var listIndex: [Int: Int] = [:]
    private var lists: [[[Float]]] = []
    private(set) var cachedElements = 0
    /// Beyond this many cached floats (64 MiB) buffers are dropped rather than kept.
    static let maxCachedElements = 16 << 20
    /// Buffers kept per size: a run gives back more than it takes when some kernels allocate
    /// their own outputs, and the surplus must not pile up run after run.
    static let maxPerSize = 8

    /// A buffer of exactly `count` floats with unspecified contents, if one is cached.
    func take(_ count: Int) -> [Float]? {
        guard count > 0, let i = listIndex[count], let buffer = lists[i].popLast() else { return nil }
        cachedElements -= count
        return buffer
    }

    /// A buffer of `count` floats filled by `body` (the contract of
    /// `Array(unsafeUninitializedCapacity:initializingWith:)`, which it falls back to), taken
    /// from `arena` when it caches one that size.
    @inline(__always)
    static func floats(_ count: Int, from arena: TensorArena?,
                       _ body: (inout UnsafeMutableBufferPointer<Float>, inout Int) -> Void) -> [Float] {
        if var buffer = arena?.take(count) {
            buffer.withUnsafeMutableBufferPointer { pointer in
                var initialized = count
                body(&pointer, &initialized)
            }
            return buffer
        }
        return [Float](uninitializedCount: count, initializingWith: body)
    }

    /// Keeps `buffer` for reuse (`count` must be its element count).
    func give(_ buffer: consuming [Float]) {
        let count = buffer.count
        guard count > 0, cachedElements + count <= Self.maxCachedElements else { return }
        let i: Int
        if let existing = listIndex[count] {
            i = existing
        } else {
            i = lists.count
            listIndex[count] = i
            lists.append([])
            lists[i].reserveCapacity(Self.maxPerSize)
        }
        guard lists[i].count < Self.maxPerSize else { return }
        lists[i].append(buffer)
        cachedElements += count
    }
}

/// Arenas for concurrent runs of one model: a run borrows one, returns it when done.
final class ArenaPool: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var idle: [TensorArena] = []
    /// Idle arenas kept; more concurrent runs than this allocate theirs as before.
    static let maxIdle = 16

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func borrow() -> TensorArena {
        pthread_mutex_lock(&mutex)
        let arena = idle.popLast()
        pthread_mutex_unlock(&mutex)
        return arena ?? TensorArena()
    }

    func giveBack(_ arena: TensorArena) {
        pthread_mutex_lock(&mutex)
        if idle.count < Self.maxIdle { idle.append(arena) }
        pthread_mutex_unlock(&mutex)
    }
}
