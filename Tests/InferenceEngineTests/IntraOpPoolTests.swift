import Testing
@testable import InferenceEngine

/// The intra-op pool's task hand-out: each thread claims its own share from the front and the
/// others' leftovers from the back, and every task runs exactly once whoever wins the race for it.
@Suite("Intra-op pool")
struct IntraOpPoolTests {
    /// How often each task ran; every task writes only its own entry.
    final class Counts: @unchecked Sendable {
        let values: UnsafeMutablePointer<Int>
        let count: Int
        init(_ count: Int) {
            self.count = count
            values = .allocate(capacity: Swift.max(1, count))
            values.initialize(repeating: 0, count: Swift.max(1, count))
        }
        deinit { values.deallocate() }
        var all: [Int] { (0..<count).map { values[$0] } }
    }

    @Test func everyTaskRunsOnce() {
        let pool = IntraOpPool(threadCount: 3)
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            for _ in 0..<20 {
                let counts = Counts(count)
                pool.parallelFor(count) { task in counts.values[task] += 1 }
                #expect(counts.all == [Int](repeating: 1, count: count), "\(count) tasks")
            }
        }
    }

    @Test func chunksCoverTheRangeOnce() {
        let pool = IntraOpPool(threadCount: 2)
        for count in [0, 1, 2, 5, 8, 9, 63, 64, 65] {
            let counts = Counts(count)
            let jobsBefore = pool.jobCount
            IntraOpPool.forEachChunk(of: count, on: pool, worthSplitting: true) { range in
                for i in range { counts.values[i] += 1 }
            }
            #expect(counts.all == [Int](repeating: 1, count: count), "\(count) items")
            #expect((pool.jobCount > jobsBefore) == (count > 1), "\(count) items: split")
        }
    }

    /// Elementwise passes split only from ``IntraOpPool/elementwiseParallelCount`` elements, in
    /// ranges that start on 16-element boundaries, so no two threads write one cache line.
    @Test func elementChunksAreWholeLines() {
        let pool = IntraOpPool(threadCount: 2)
        let limit = IntraOpPool.elementwiseParallelCount
        for count in [0, 1000, limit - 1, limit, limit + 5, 3 * limit + 17] {
            let counts = Counts(count)
            let starts = Counts(count + 1)
            let jobsBefore = pool.jobCount
            IntraOpPool.forEachElementChunk(of: count, on: pool) { range in
                starts.values[range.lowerBound] += 1
                for i in range { counts.values[i] += 1 }
            }
            #expect(counts.all == [Int](repeating: 1, count: count), "\(count) elements")
            #expect((pool.jobCount > jobsBefore) == (count >= limit), "\(count) elements: split")
            for i in 0..<count where starts.values[i] > 0 { #expect(i % 16 == 0, "\(count) elements: a range starts at \(i)") }
        }
    }
}
