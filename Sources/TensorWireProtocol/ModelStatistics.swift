/// What the server has done with one model version since it started (a Stats response entry).
public struct ModelStatistics: Hashable, Sendable {
    public var name: String
    public var version: UInt64
    /// Infer responses by status code (OK counts successes), plus PERMISSION_DENIED for every
    /// refused call naming the model.
    public var outcomes: [StatusCode: UInt64]
    /// Requests that ran inline on the I/O thread (idle model, no batching delay).
    public var inlineRequests: UInt64
    /// Model executions (batches; a request run alone is a batch of its rows).
    public var executions: UInt64
    /// Executions per batch size (rows).
    public var batchSizes: [Int: UInt64]
    /// Queue time of requests that went through the queue (count, total ns).
    public var queueCount: UInt64
    public var queueNanoseconds: UInt64
    /// Execution time (count, total ns).
    public var computeCount: UInt64
    public var computeNanoseconds: UInt64
    /// Requests refused by a full queue, expired in the queue, or cancelled in the queue.
    public var rejectedQueueFull: UInt64
    public var expiredInQueue: UInt64
    public var cancelledInQueue: UInt64

    public init(
        name: String, version: UInt64, outcomes: [StatusCode: UInt64] = [:], inlineRequests: UInt64 = 0,
        executions: UInt64 = 0, batchSizes: [Int: UInt64] = [:], queueCount: UInt64 = 0, queueNanoseconds: UInt64 = 0,
        computeCount: UInt64 = 0, computeNanoseconds: UInt64 = 0, rejectedQueueFull: UInt64 = 0,
        expiredInQueue: UInt64 = 0, cancelledInQueue: UInt64 = 0
    ) {
        self.name = name
        self.version = version
        self.outcomes = outcomes
        self.inlineRequests = inlineRequests
        self.executions = executions
        self.batchSizes = batchSizes
        self.queueCount = queueCount
        self.queueNanoseconds = queueNanoseconds
        self.computeCount = computeCount
        self.computeNanoseconds = computeNanoseconds
        self.rejectedQueueFull = rejectedQueueFull
        self.expiredInQueue = expiredInQueue
        self.cancelledInQueue = cancelledInQueue
    }

    /// Successful Infers.
    public var successes: UInt64 { outcomes[.ok] ?? 0 }
    /// Failed Infers (every status but OK).
    public var failures: UInt64 { outcomes.filter { $0.key != .ok }.values.reduce(0, +) }
}

/// Stats response: u16 count × ModelStatistics, each:
/// string name, u64 version, u16 n × (u16 code, u64 count), u64 inline_requests, u64 executions,
/// u16 n × (u32 batch_size, u64 count), u64 queue_count, u64 queue_ns, u64 compute_count,
/// u64 compute_ns, u64 rejected_queue_full, u64 expired_in_queue, u64 cancelled_in_queue.
/// Lists are written in ascending key order, so equal statistics encode identically.
public struct StatsResponse: WireMessageBody, Hashable {
    public var models: [ModelStatistics]

    public init(models: [ModelStatistics]) { self.models = models }

    public func encode(into w: inout ByteWriter, payloadStart: Int) {
        precondition(models.count <= Int(UInt16.max))
        w.writeUInt16(UInt16(models.count))
        for m in models {
            w.writeString(m.name)
            w.writeUInt64(m.version)
            let outcomes = m.outcomes.sorted { $0.key.rawValue < $1.key.rawValue }
            w.writeUInt16(UInt16(outcomes.count))
            for (code, count) in outcomes {
                w.writeUInt16(code.rawValue)
                w.writeUInt64(count)
            }
            w.writeUInt64(m.inlineRequests)
            w.writeUInt64(m.executions)
            let sizes = m.batchSizes.sorted { $0.key < $1.key }.prefix(Int(UInt16.max))
            w.writeUInt16(UInt16(sizes.count))
            for (size, count) in sizes {
                w.writeUInt32(UInt32(clamping: size))
                w.writeUInt64(count)
            }
            for value in [m.queueCount, m.queueNanoseconds, m.computeCount, m.computeNanoseconds,
                          m.rejectedQueueFull, m.expiredInQueue, m.cancelledInQueue] {
                w.writeUInt64(value)
            }
        }
    }

    public init(body: UnsafeRawBufferPointer, bodyOffset: Int, limits: MessageLimits) throws(Status) {
        var r = ByteReader(body, origin: bodyOffset)
        // An entry is at least 2 + 8 + 2 + 16 + 2 + 56 bytes (empty name and lists).
        let n = try r.listCount(minElementSize: 86, "model count")
        models = []
        models.reserveCapacity(n)
        for _ in 0..<n {
            var m = ModelStatistics(name: try r.string(maxLength: limits.maxNameLength, "model name"), version: try r.u64("version"))
            let outcomeCount = try r.listCount(minElementSize: 10, "outcome count")
            for _ in 0..<outcomeCount {
                let code = StatusCode(rawValue: try r.u16("status code"))
                guard m.outcomes[code] == nil else { throw Status.invalid("status code \(code.rawValue) listed twice") }
                m.outcomes[code] = try r.u64("outcome count")
            }
            m.inlineRequests = try r.u64("inline requests")
            m.executions = try r.u64("executions")
            let sizeCount = try r.listCount(minElementSize: 12, "batch size count")
            for _ in 0..<sizeCount {
                let size = Int(try r.u32("batch size"))
                guard m.batchSizes[size] == nil else { throw Status.invalid("batch size \(size) listed twice") }
                m.batchSizes[size] = try r.u64("batch size count")
            }
            m.queueCount = try r.u64("queue count")
            m.queueNanoseconds = try r.u64("queue ns")
            m.computeCount = try r.u64("compute count")
            m.computeNanoseconds = try r.u64("compute ns")
            m.rejectedQueueFull = try r.u64("rejected")
            m.expiredInQueue = try r.u64("expired")
            m.cancelledInQueue = try r.u64("cancelled")
            models.append(m)
        }
        try r.expectEnd("Stats response")
    }
}
