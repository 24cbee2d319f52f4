/// What a model's scheduler has done since the server started.
public struct SchedulerStatistics: Sendable, Hashable {
    /// Requests that ran (alone or in a batch), successfully or not.
    public var executedRequests: UInt64 = 0
    /// Model executions (batches, including batches of one).
    public var batches: UInt64 = 0
    /// Executions per batch size (rows): `[batch size: count]`.
    public var batchSizes: [Int: UInt64] = [:]
    /// Time requests spent queued (count, total ns).
    public var queueCount: UInt64 = 0
    public var queueNanoseconds: UInt64 = 0
    /// Time spent executing batches (count, total ns).
    public var computeCount: UInt64 = 0
    public var computeNanoseconds: UInt64 = 0
    /// Requests refused because the queue was full.
    public var rejectedQueueFull: UInt64 = 0
    /// Requests whose deadline passed while queued (never executed).
    public var expiredInQueue: UInt64 = 0
    /// Requests cancelled while queued.
    public var cancelledInQueue: UInt64 = 0
    /// Requests that ran inline on the caller's thread (idle queue, zero delay).
    public var inlineRequests: UInt64 = 0

    public init() {}

    mutating func recordBatch(rows: Int, computeNanoseconds: UInt64) {
        batches += 1
        batchSizes[rows, default: 0] += 1
        computeCount += 1
        self.computeNanoseconds &+= computeNanoseconds
    }
}
