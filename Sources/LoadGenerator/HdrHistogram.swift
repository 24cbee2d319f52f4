/// A high-dynamic-range histogram of non-negative integer values (the load generator records
/// nanoseconds), after Gil Tene's HdrHistogram.
///
/// Values are grouped into buckets of `subBucketCount` linear sub-buckets, each bucket twice as
/// wide as the previous one, so every value is kept to `significantDigits` decimal digits
/// (3 digits: within 0.1%) over the whole range. Recording finds the slot from a
/// count-leading-zeros and increments one counter: constant time, no allocation. Memory is fixed
/// at creation (about 270 KiB for 1 ns ... 1 hour at 3 digits).
///
/// Not thread-safe: each recording thread owns its histograms and they are merged with
/// ``add(_:)`` after a lock hand-over.
public final class HdrHistogram: @unchecked Sendable {
    /// The largest value that is tracked; larger values are recorded as this value (and counted
    /// in ``clampedCount``) so that a record never fails.
    public let highestTrackableValue: UInt64
    /// Decimal digits of precision kept for every value.
    public let significantDigits: Int

    let subBucketCount: Int
    let subBucketHalfCount: Int
    let subBucketHalfCountMagnitude: Int
    let subBucketMask: UInt64
    let leadingZeroCountBase: Int
    /// Number of buckets (each `subBucketHalfCount` slots wide except the first).
    public let bucketCount: Int
    /// Number of counters.
    public let countsLength: Int
    private let counts: UnsafeMutablePointer<UInt64>

    /// Number of values recorded.
    public private(set) var totalCount: UInt64 = 0
    /// Values recorded above ``highestTrackableValue`` (recorded as that value).
    public private(set) var clampedCount: UInt64 = 0
    private var minimum: UInt64 = .max
    private var maximum: UInt64 = 0

    /// - Parameters:
    ///   - highestTrackableValue: the largest value to track exactly (default: one hour in ns).
    ///   - significantDigits: 1...5; 3 keeps every value within 0.1%.
    public init(highestTrackableValue: UInt64 = 3_600_000_000_000, significantDigits: Int = 3) {
        precondition((1...5).contains(significantDigits), "significantDigits must be 1...5")
        precondition(highestTrackableValue >= 2, "highestTrackableValue must be >= 2")
        self.highestTrackableValue = highestTrackableValue
        self.significantDigits = significantDigits
        var largestSingleUnit = 2
        for _ in 0..<significantDigits { largestSingleUnit *= 10 }
        // Smallest power of two holding `largestSingleUnit` distinct values at unit resolution.
        var magnitude = 0
        while (1 << magnitude) < largestSingleUnit { magnitude += 1 }
        subBucketHalfCountMagnitude = magnitude - 1
        subBucketCount = 1 << magnitude
        subBucketHalfCount = subBucketCount / 2
        subBucketMask = UInt64(subBucketCount - 1)
        leadingZeroCountBase = 64 - subBucketHalfCountMagnitude - 1
        var smallestUntrackable = UInt64(subBucketCount)
        var buckets = 1
        while smallestUntrackable <= highestTrackableValue {
            if smallestUntrackable > UInt64.max / 2 { buckets += 1; break }
            smallestUntrackable <<= 1
            buckets += 1
        }
        bucketCount = buckets
        countsLength = (buckets + 1) * subBucketHalfCount
        counts = .allocate(capacity: countsLength)
        counts.initialize(repeating: 0, count: countsLength)
    }

    deinit { counts.deallocate() }

    /// An empty histogram with the same layout.
    public func makeEmptyCopy() -> HdrHistogram {
        HdrHistogram(highestTrackableValue: highestTrackableValue, significantDigits: significantDigits)
    }

    /// A copy with the same counts.
    public func copy() -> HdrHistogram {
        let other = makeEmptyCopy()
        other.add(self)
        return other
    }

    /// Memory held by the counters, in bytes (fixed at creation).
    public var memoryFootprint: Int { countsLength * MemoryLayout<UInt64>.stride }

    // MARK: Index arithmetic

    @inline(__always)
    func bucketIndex(of value: UInt64) -> Int {
        leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
    }

    @inline(__always)
    func countsIndex(of value: UInt64) -> Int {
        let bucket = bucketIndex(of: value)
        let subBucket = Int(truncatingIfNeeded: value >> UInt64(bucket))
        return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - subBucketHalfCount)
    }

    func value(atIndex index: Int) -> UInt64 {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            subBucket -= subBucketHalfCount
            bucket = 0
        }
        return UInt64(subBucket) << UInt64(bucket)
    }

    /// Width of the range of values that share `value`'s counter.
    public func sizeOfEquivalentRange(_ value: UInt64) -> UInt64 {
        var bucket = bucketIndex(of: value)
        let subBucket = Int(truncatingIfNeeded: value >> UInt64(bucket))
        if subBucket >= subBucketCount { bucket += 1 }
        return 1 << UInt64(bucket)
    }

    /// The smallest value that shares `value`'s counter.
    public func lowestEquivalentValue(_ value: UInt64) -> UInt64 {
        let bucket = bucketIndex(of: value)
        let subBucket = value >> UInt64(bucket)
        return subBucket << UInt64(bucket)
    }

    /// The largest value that shares `value`'s counter: what percentiles report, so that a
    /// reported percentile is never below the true one.
    public func highestEquivalentValue(_ value: UInt64) -> UInt64 {
        lowestEquivalentValue(value) + sizeOfEquivalentRange(value) - 1
    }

    func medianEquivalentValue(_ value: UInt64) -> UInt64 {
        lowestEquivalentValue(value) + sizeOfEquivalentRange(value) / 2
    }

    // MARK: Recording

    /// Records `value` once: one index computation and three stores; never allocates.
    @inline(__always)
    public func record(_ value: UInt64) {
        record(value, count: 1)
    }

    /// Records `value` `count` times.
    @inline(__always)
    public func record(_ value: UInt64, count: UInt64) {
        var value = value
        if value > highestTrackableValue {
            value = highestTrackableValue
            clampedCount &+= count
        }
        counts[countsIndex(of: value)] &+= count
        totalCount &+= count
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    /// Adds every count of `other`, which must have the same layout.
    public func add(_ other: HdrHistogram) {
        precondition(other.countsLength == countsLength && other.subBucketCount == subBucketCount,
                     "histograms with different layouts")
        guard other.totalCount > 0 else { return }
        for index in 0..<countsLength where other.counts[index] != 0 {
            counts[index] &+= other.counts[index]
        }
        totalCount &+= other.totalCount
        clampedCount &+= other.clampedCount
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
    }

    /// Forgets every value; keeps the memory.
    public func reset() {
        counts.update(repeating: 0, count: countsLength)
        totalCount = 0
        clampedCount = 0
        minimum = .max
        maximum = 0
    }

    // MARK: Queries

    /// The exact smallest value recorded (0 when empty).
    public var min: UInt64 { totalCount == 0 ? 0 : minimum }
    /// The exact largest value recorded (0 when empty). Unlike percentiles this is not rounded
    /// to its bucket: the worst case is reported as it was measured.
    public var max: UInt64 { maximum }

    /// The value at `percentile` (0...100): the smallest recorded value such that at least
    /// `percentile`% of all values are less than or equal to it (nearest rank), reported as the
    /// highest value equivalent to it at this precision. 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        guard totalCount > 0 else { return 0 }
        let requested = Swift.min(Swift.max(percentile, 0), 100)
        let exact = requested / 100 * Double(totalCount)
        // A hair below, so that 99% of 10000 values is rank 9900 even though 0.99 * 10000 is
        // 9900.000000000002 in binary floating point.
        let rank = Swift.max(1, UInt64((exact - exact * 1e-12).rounded(.up)))
        if rank >= totalCount { return maximum }
        var cumulative: UInt64 = 0
        for index in 0..<countsLength {
            cumulative &+= counts[index]
            if cumulative >= rank {
                let value = self.value(atIndex: index)
                return Swift.min(highestEquivalentValue(value), maximum)
            }
        }
        return maximum
    }

    /// Mean of the recorded values (each counted at the middle of its equivalent range).
    public var mean: Double {
        guard totalCount > 0 else { return 0 }
        var sum = 0.0
        for index in 0..<countsLength where counts[index] != 0 {
            sum += Double(counts[index]) * Double(medianEquivalentValue(value(atIndex: index)))
        }
        return sum / Double(totalCount)
    }

    /// Population standard deviation of the recorded values.
    public var standardDeviation: Double {
        guard totalCount > 0 else { return 0 }
        let average = mean
        var sum = 0.0
        for index in 0..<countsLength where counts[index] != 0 {
            let deviation = Double(medianEquivalentValue(value(atIndex: index))) - average
            sum += Double(counts[index]) * deviation * deviation
        }
        return (sum / Double(totalCount)).squareRoot()
    }

    /// One row of a percentile distribution.
    public struct PercentileRow: Sendable, Equatable {
        /// Highest value equivalent to the value reached.
        public var value: UInt64
        /// The percentile level (0...100) this row stands for.
        public var percentile: Double
        /// Values at or below `value`.
        public var cumulativeCount: UInt64
    }

    /// The percentile distribution that HdrHistogram's `outputPercentileDistribution` prints:
    /// `ticksPerHalfDistance` rows for each halving of the distance to 100% (so the rows get
    /// denser towards the tail), ending with a row at 100%.
    public func percentileDistribution(ticksPerHalfDistance: Int = 5) -> [PercentileRow] {
        var rows: [PercentileRow] = []
        guard totalCount > 0 else { return rows }
        let total = Double(totalCount)
        var index = 0
        var cumulative: UInt64 = 0
        var fresh = true
        var level = 0.0
        var reachedLast = false
        while true {
            if cumulative >= totalCount {
                if reachedLast { break }
                level = 100
                reachedLast = true
            }
            var emitted = false
            while index < countsLength {
                let count = counts[index]
                if fresh {
                    cumulative &+= count
                    fresh = false
                }
                if count != 0 && 100 * Double(cumulative) / total >= level {
                    rows.append(PercentileRow(
                        value: Swift.min(highestEquivalentValue(value(atIndex: index)), maximum),
                        percentile: level, cumulativeCount: cumulative))
                    if level < 100 {
                        let halvings = (100 / (100 - level)).log2.rounded(.down)
                        let ticks = Double(ticksPerHalfDistance) * (halvings + 1).exp2
                        level = Swift.min(100, level + 100 / ticks)
                    }
                    emitted = true
                    break
                }
                index += 1
                fresh = true
            }
            if !emitted { break }
        }
        return rows
    }
}

extension Double {
    fileprivate var log2: Double { _log2(self) }
    fileprivate var exp2: Double { _exp2(self) }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log2(_ x: Double) -> Double { Glibc.log2(x) }
@inline(__always) private func _exp2(_ x: Double) -> Double { Glibc.exp2(x) }
#endif
