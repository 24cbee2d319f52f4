import Testing
@testable import LoadGenerator

@Suite struct HdrHistogramTests {
    /// Nearest-rank percentile of sorted data: the smallest value with at least p% at or below.
    func exactPercentile(_ sorted: [UInt64], _ p: Double) -> UInt64 {
        let rank = max(1, Int((p / 100 * Double(sorted.count) - 1e-9).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    @Test func exactPercentilesWithinUnitResolution() {
        // Below 2048 every value has its own counter: percentiles are exact.
        let h = HdrHistogram()
        for v in UInt64(1)...2000 { h.record(v) }
        #expect(h.totalCount == 2000)
        #expect(h.value(atPercentile: 50) == 1000)
        #expect(h.value(atPercentile: 90) == 1800)
        #expect(h.value(atPercentile: 99) == 1980)
        #expect(h.value(atPercentile: 99.9) == 1998)
        #expect(h.value(atPercentile: 100) == 2000)
        #expect(h.value(atPercentile: 0) == 1)
        #expect(h.min == 1 && h.max == 2000)
    }

    @Test func percentilesOfOneToTenThousandMicroseconds() {
        // 1..10000 us recorded in ns: every reported percentile is the highest value equivalent to
        // the exact nearest-rank value, hence within 0.1% above it.
        let h = HdrHistogram()
        let values = (UInt64(1)...10_000).map { $0 * 1000 }
        for v in values.shuffled() { h.record(v) }
        for p in [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99] {
            let exact = exactPercentile(values, p)
            let reported = h.value(atPercentile: p)
            #expect(reported == min(h.highestEquivalentValue(exact), h.max), "p\(p)")
            #expect(reported >= exact && Double(reported - exact) <= Double(exact) * 0.001, "p\(p): \(reported) vs \(exact)")
        }
        #expect(h.value(atPercentile: 50) == h.highestEquivalentValue(5_000_000))
        #expect(h.value(atPercentile: 99) == h.highestEquivalentValue(9_900_000))
        #expect(h.value(atPercentile: 100) == 10_000_000)
        #expect(abs(h.mean - 5_000_500) / 5_000_500 < 0.001)
        // Population standard deviation of 1..N (times 1000) is 1000 * sqrt((N^2 - 1) / 12).
        #expect(abs(h.standardDeviation - 2_886_751) / 2_886_751 < 0.001)
    }

    @Test func relativeErrorStaysWithinThreeDigitsAcrossTheRange() {
        let h = HdrHistogram()
        var v: UInt64 = 1
        while v < 3_000_000_000_000 {
            let low = h.lowestEquivalentValue(v), high = h.highestEquivalentValue(v)
            #expect(low <= v && v <= high)
            #expect(Double(high - low) <= max(1, Double(v) / 1000), "value \(v): range \(low)...\(high)")
            v = v * 3 + 7
        }
    }

    @Test func mergeEqualsRecordingEverythingInOne() {
        let a = HdrHistogram(), b = HdrHistogram(), all = HdrHistogram()
        for v in UInt64(1)...5000 {
            (v % 2 == 0 ? a : b).record(v * 997)
            all.record(v * 997)
        }
        a.add(b)
        #expect(a.totalCount == all.totalCount)
        for p in [0.0, 50, 90, 99, 99.9, 100] { #expect(a.value(atPercentile: p) == all.value(atPercentile: p)) }
        #expect(a.min == all.min && a.max == all.max)
        #expect(a.percentileDistribution() == all.percentileDistribution())
    }

    @Test func rangeEdges() {
        let h = HdrHistogram(highestTrackableValue: 1_000_000)
        h.record(0)
        h.record(1)
        h.record(1_000_000)
        h.record(5_000_000)  // above the range: clamped, counted, never a crash
        #expect(h.totalCount == 4)
        #expect(h.clampedCount == 1)
        #expect(h.min == 0)
        #expect(h.max == 1_000_000)
        #expect(h.value(atPercentile: 25) == 0)
        #expect(h.value(atPercentile: 100) == 1_000_000)
        let empty = HdrHistogram()
        #expect(empty.value(atPercentile: 99) == 0 && empty.max == 0 && empty.min == 0 && empty.mean == 0)
        #expect(empty.percentileDistribution().isEmpty)
        h.reset()
        #expect(h.totalCount == 0 && h.max == 0)
    }

    @Test func memoryIsFixedAtCreation() {
        let h = HdrHistogram()
        // 1 ns ... 1 h at 3 digits: 32 buckets of 1024 half-sub-buckets, 8 bytes each.
        #expect(h.subBucketCount == 2048)
        #expect(h.memoryFootprint == (h.bucketCount + 1) * 1024 * 8)
        #expect(h.memoryFootprint < 300 * 1024)
        let before = h.memoryFootprint
        for v in stride(from: UInt64(1), to: 3_000_000_000_000, by: 9_999_991) { h.record(v) }
        #expect(h.memoryFootprint == before)
    }

    @Test func recordIsConstantTimeAndCheap() {
        // Not a benchmark, a guard: 500 000 records must take well under a second even in a
        // debug build (it is a few ns each in release).
        let h = HdrHistogram()
        let start = Clock.now()
        var v: UInt64 = 12345
        for _ in 0..<500_000 {
            v = v &* 6364136223846793005 &+ 1442695040888963407
            h.record((v >> 24) % 10_000_000_000)
        }
        let elapsed = Clock.now() - start
        #expect(h.totalCount == 500_000)
        #expect(elapsed < 2_000_000_000)
    }

    @Test func percentileDistributionFollowsHdrHistogramTicks() {
        let h = HdrHistogram()
        for v in UInt64(1)...10_000 { h.record(v) }
        let rows = h.percentileDistribution(ticksPerHalfDistance: 5)
        // HdrHistogram's iterator: 0%, then 10% steps to 50%, 5% steps to 75%, 2.5% steps to 87.5%...
        #expect(rows.prefix(7).map(\.percentile) == [0, 10, 20, 30, 40, 50, 55])
        #expect(rows[0].value == 1 && rows[0].cumulativeCount == 1)
        #expect(rows[5].value == h.highestEquivalentValue(5000))
        #expect(rows.last!.percentile == 100 && rows.last!.cumulativeCount == 10_000 && rows.last!.value == 10_000)
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.percentile <= $1.percentile && $0.value <= $1.value })
    }
}
