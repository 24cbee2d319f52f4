import Foundation
import Testing
@testable import InferenceEngine

/// Collects completions from compute threads (pthread lock: TSan-visible).
final class Completions: @unchecked Sendable {
    private let lock = SchedulerLock()
    private var results: [Int: Result<[Tensor], SchedulingError>] = [:]
    private var order: [Int] = []

    func record(_ id: Int, _ result: Result<[Tensor], SchedulingError>) {
        lock.lock()
        results[id] = result
        order.append(id)
        lock.unlock()
    }

    var completionOrder: [Int] { lock.lock(); defer { lock.unlock() }; return order }
    func result(_ id: Int) -> Result<[Tensor], SchedulingError>? { lock.lock(); defer { lock.unlock() }; return results[id] }
    var count: Int { lock.lock(); defer { lock.unlock() }; return results.count }

    /// Waits up to `seconds` for `expected` completions.
    func wait(for expected: Int, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while count < expected && Date() < deadline { usleep(1000) }
        return count >= expected
    }
}

@Suite struct BatchSchedulerTests {
    static let model = try! Model(contentsOf: repoPath("examples/models/credit_default/1/model.onnx"))

    /// Distinct applicants: row i differs from every other row.
    static func row(_ i: Int) -> Tensor {
        Tensor(shape: [1, 10], scalars: (0..<10).map { Float(i) * 0.37 + Float($0) * 1.1 + 3 })
    }

    static func alone(_ input: Tensor) -> [Float] {
        try! model.run(["features": input])[0].scalars
    }

    private func output(_ result: Result<[Tensor], SchedulingError>?) -> [Float]? {
        if case .success(let tensors)? = result { return tensors[0].scalars }
        return nil
    }

    @Test func batchedOutputsAreIdenticalToUnbatchedOnes() throws {
        let pool = ComputePool(threadCount: 2)
        defer { pool.shutdown() }
        // A long delay makes all 64 requests wait and run as one batch of 64.
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 64, maxQueueDelayNanoseconds: 200_000_000), pool: pool)
        let completions = Completions()
        for i in 0..<64 {
            scheduler.enqueue(["features": Self.row(i)]) { completions.record(i, $0) }
        }
        #expect(completions.wait(for: 64))
        for i in 0..<64 {
            #expect(output(completions.result(i)) == Self.alone(Self.row(i)), "request \(i)")
        }
        let statistics = scheduler.currentStatistics()
        #expect(statistics.batchSizes == [64: 1])
        #expect(statistics.executedRequests == 64)
    }

    @Test func requestsWithDifferentRowCountsShareABatchAndGetTheirOwnRows() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 16, maxQueueDelayNanoseconds: 100_000_000), pool: pool)
        let completions = Completions()
        let sizes = [1, 3, 2, 5]
        var inputs: [Tensor] = []
        var start = 0
        for (id, size) in sizes.enumerated() {
            let rows = (start..<start + size).flatMap { Self.row($0).scalars }
            let input = Tensor(shape: [size, 10], scalars: rows)
            inputs.append(input)
            scheduler.enqueue(["features": input]) { completions.record(id, $0) }
            start += size
        }
        #expect(completions.wait(for: sizes.count))
        for (id, input) in inputs.enumerated() {
            #expect(output(completions.result(id)) == Self.alone(input))
        }
        #expect(scheduler.currentStatistics().batchSizes == [11: 1])
    }

    @Test func idleModelRunsInlineAndADelayingPolicyDoesNot() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let eager = try BatchScheduler(model: Self.model, policy: BatchingPolicy(maxBatchSize: 8), pool: pool)
        let inline = eager.runInline(["features": Self.row(1)])
        #expect(output(inline) == Self.alone(Self.row(1)))
        #expect(eager.currentStatistics().inlineRequests == 1)
        let patient = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 8, maxQueueDelayNanoseconds: 1_000_000), pool: pool)
        #expect(patient.runInline(["features": Self.row(1)]) == nil)
    }

    @Test func deadlinePassingInTheQueueFailsWithoutRunning() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 8, maxQueueDelayNanoseconds: 300_000_000), pool: pool)
        let completions = Completions()
        scheduler.enqueue(["features": Self.row(0)], timeoutNanoseconds: 20_000_000) { completions.record(0, $0) }
        scheduler.enqueue(["features": Self.row(1)]) { completions.record(1, $0) }
        #expect(completions.wait(for: 2))
        #expect(completions.completionOrder == [0, 1])
        guard case .failure(.deadlineExceeded)? = completions.result(0) else {
            Issue.record("expected DEADLINE_EXCEEDED, got \(String(describing: completions.result(0)))")
            return
        }
        #expect(output(completions.result(1)) == Self.alone(Self.row(1)))
        let statistics = scheduler.currentStatistics()
        #expect(statistics.expiredInQueue == 1)
        #expect(statistics.batchSizes == [1: 1])
    }

    @Test func defaultTimeoutCanOnlyBeShortened() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 8, maxQueueDelayNanoseconds: 300_000_000, defaultTimeoutNanoseconds: 30_000_000), pool: pool)
        let completions = Completions()
        // Asks for 10 s; the model's 30 ms default still applies.
        scheduler.enqueue(["features": Self.row(0)], timeoutNanoseconds: 10_000_000_000) { completions.record(0, $0) }
        #expect(completions.wait(for: 1))
        guard case .failure(.deadlineExceeded)? = completions.result(0) else {
            Issue.record("expected DEADLINE_EXCEEDED, got \(String(describing: completions.result(0)))")
            return
        }
    }

    @Test func fullQueueRefusesAtOnce() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 8, maxQueueDelayNanoseconds: 5_000_000_000, maxQueueSize: 2), pool: pool)
        let completions = Completions()
        let first = scheduler.enqueue(["features": Self.row(0)]) { completions.record(0, $0) }
        let second = scheduler.enqueue(["features": Self.row(1)]) { completions.record(1, $0) }
        let third = scheduler.enqueue(["features": Self.row(2)]) { completions.record(2, $0) }
        #expect(third == nil)
        guard case .failure(.queueFull(2))? = completions.result(2) else {
            Issue.record("expected queue full, got \(String(describing: completions.result(2)))")
            return
        }
        #expect(scheduler.currentStatistics().rejectedQueueFull == 1)
        #expect(scheduler.cancel(first!))
        #expect(scheduler.cancel(second!))
    }

    @Test func cancelledRequestIsDroppedFromTheQueue() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 8, maxQueueDelayNanoseconds: 100_000_000), pool: pool)
        let completions = Completions()
        let doomed = scheduler.enqueue(["features": Self.row(0)]) { completions.record(0, $0) }
        scheduler.enqueue(["features": Self.row(1)]) { completions.record(1, $0) }
        #expect(scheduler.cancel(doomed!))
        #expect(!scheduler.cancel(doomed!))  // only once
        #expect(completions.wait(for: 2))
        guard case .failure(.cancelled)? = completions.result(0) else {
            Issue.record("expected CANCELLED, got \(String(describing: completions.result(0)))")
            return
        }
        #expect(output(completions.result(1)) == Self.alone(Self.row(1)))
        #expect(scheduler.currentStatistics().batchSizes == [1: 1])
    }

    @Test func higherPriorityRunsFirst() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 2, priorityLevels: 2, defaultPriority: 2), pool: pool)
        // Occupy the only worker (a completion runs on it) so that all four requests are queued
        // before any batch forms; otherwise arrival order, not priority, decides.
        let blocker = try BatchScheduler(model: Self.model, policy: BatchingPolicy(maxBatchSize: 1), pool: pool)
        let started = Completions()
        let release = SchedulerLock()
        release.lock()
        blocker.enqueue(["features": Self.row(9)]) { result in
            started.record(0, result)
            release.lock()  // held by the test until the queue is filled
            release.unlock()
        }
        #expect(started.wait(for: 1))
        let completions = Completions()
        scheduler.enqueue(["features": Self.row(0)]) { completions.record(0, $0) }
        scheduler.enqueue(["features": Self.row(1)]) { completions.record(1, $0) }
        scheduler.enqueue(["features": Self.row(2)], priority: 1) { completions.record(2, $0) }
        scheduler.enqueue(["features": Self.row(3)], priority: 1) { completions.record(3, $0) }
        release.unlock()
        #expect(completions.wait(for: 4))
        #expect(completions.completionOrder == [2, 3, 0, 1])
        #expect(scheduler.currentStatistics().batchSizes == [2: 2])
        #expect(scheduler.enqueue(["features": Self.row(4)], priority: 3) { _ in } == nil)
    }

    @Test func invalidRequestsAreRefusedBeforeTheyCanSpoilABatch() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(maxBatchSize: 4), pool: pool)
        let cases: [[String: Tensor]] = [
            [:],
            ["features": Tensor(shape: [1, 9], scalars: Array(repeating: 0, count: 9))],
            ["features": Tensor(shape: [5, 10], scalars: Array(repeating: 0, count: 50))],  // over max_batch_size
            ["features": Self.row(0), "extra": Self.row(1)],
        ]
        for inputs in cases {
            let completions = Completions()
            #expect(scheduler.enqueue(inputs) { completions.record(0, $0) } == nil)
            guard case .failure(.invalidRequest)? = completions.result(0) else {
                Issue.record("expected invalidRequest for \(inputs.keys.sorted())")
                continue
            }
        }
    }

    @Test func invalidPoliciesAreRefused() {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        for policy in [BatchingPolicy(maxBatchSize: 0), BatchingPolicy(maxBatchSize: 8, preferredBatchSizes: [16]),
                       BatchingPolicy(maxBatchSize: 8, priorityLevels: 2, defaultPriority: 3),
                       BatchingPolicy(maxBatchSize: 8, instanceCount: 0)] {
            #expect(throws: SchedulingError.self) { try BatchScheduler(model: Self.model, policy: policy, pool: pool) }
        }
    }

    /// Many threads submitting distinct inputs at once: every request gets its own answer.
    @Test func concurrentSubmittersEachGetTheirOwnOutputs() throws {
        let pool = ComputePool(threadCount: 2)
        defer { pool.shutdown() }
        let perThread = 200
        // The queue must hold the whole burst: a full queue refuses (correctly) rather than waits.
        let scheduler = try BatchScheduler(model: Self.model, policy: BatchingPolicy(
            maxBatchSize: 32, maxQueueDelayNanoseconds: 200_000, maxQueueSize: 8 * perThread, instanceCount: 2), pool: pool)
        let completions = Completions()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<perThread {
                let id = thread * perThread + i
                if scheduler.runInline(["features": Self.row(id)]) == nil {
                    scheduler.enqueue(["features": Self.row(id)]) { completions.record(id, $0) }
                } else {
                    completions.record(id, .success(try! Self.model.run(["features": Self.row(id)])))
                }
            }
        }
        #expect(completions.wait(for: 8 * perThread, seconds: 60))
        var mismatches = 0
        var failures = 0
        for id in 0..<8 * perThread {
            guard let got = output(completions.result(id)) else { failures += 1; continue }
            if got != Self.alone(Self.row(id)) { mismatches += 1 }
        }
        #expect(failures == 0)
        #expect(mismatches == 0)
        let statistics = scheduler.currentStatistics()
        #expect(statistics.batches > 0)
    }
}

@Suite struct BatchAssemblerTests {
    /// Token ids and masks must come through a batch exactly (no detour through Float, where
    /// int64 above 2^24 would lose digits).
    @Test func everyElementTypeSurvivesConcatenationAndSplit() throws {
        let big: Int64 = (1 << 40) + 1
        let cases: [[Tensor]] = [
            [Tensor(shape: [1, 2], int64s: [big, -3]), Tensor(shape: [2, 2], int64s: [1, 2, 3, big])],
            [Tensor(shape: [1, 3], int32s: [1, -2, .max]), Tensor(shape: [1, 3], int32s: [.min, 0, 7])],
            [Tensor(shape: [2, 1], bools: [true, false]), Tensor(shape: [1, 1], bools: [true])],
            [Tensor(shape: [1, 2], scalars: [0.5, -1]), Tensor(shape: [1, 2], scalars: [3, .infinity])],
        ]
        for parts in cases {
            let rows = parts.map { $0.shape[0] }
            let batch = BatchAssembler.concatenate(parts)
            #expect(batch.elementType == parts[0].elementType)
            #expect(batch.shape == [rows.reduce(0, +)] + Array(parts[0].shape.dropFirst()))
            let back = try BatchAssembler.split([batch], rows: rows)
            for (original, restored) in zip(parts, back.map { $0[0] }) {
                #expect(restored.shape == original.shape)
                #expect(restored.elementType == original.elementType)
                #expect(restored.withUnsafeBytes { Array($0) } == original.withUnsafeBytes { Array($0) })
            }
        }
    }

    /// Recurrent state carries the batch on axis 1 ([layers, batch, hidden]).
    @Test func joinsAndSplitsAlongAnInnerAxis() throws {
        let a = Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])          // layer 0: 1 2 3, layer 1: 4 5 6
        let b = Tensor(shape: [2, 2, 3], scalars: (10..<22).map(Float.init))   // two sequences
        let joined = BatchAssembler.concatenate([a, b], axis: 1)
        #expect(joined.shape == [2, 3, 3])
        #expect(joined.scalars == [1, 2, 3, 10, 11, 12, 13, 14, 15, 4, 5, 6, 16, 17, 18, 19, 20, 21])
        let back = try BatchAssembler.split([joined], axes: [1], rows: [1, 2])
        #expect(back[0][0].shape == [2, 1, 3] && back[0][0].scalars == a.scalars)
        #expect(back[1][0].shape == [2, 2, 3] && back[1][0].scalars == b.scalars)
    }

    @Test func outputWithoutTheBatchRowsIsAnInternalError() {
        #expect(throws: SchedulingError.self) {
            try BatchAssembler.split([Tensor(shape: [3, 1], scalars: [1, 2, 3])], rows: [1, 1])
        }
    }
}

@Suite struct PaddedBatchingTests {
    /// The dynamo export: the legacy exporter baked the example length (5) into this graph
    /// despite declaring `seq` symbolic, so it fails other lengths (onnxruntime too).
    static let encoder = try! Model(contentsOf: repoPath("Tests/Fixtures/zoo/encoder_padding_dynamo/model.onnx"))

    static func request(length: Int, seed: Int, paddedTail: Int = 0) -> [String: Tensor] {
        let x = Tensor(shape: [1, length, 16], scalars: (0..<length * 16).map { Float(($0 * 5 + seed * 11) % 17) * 0.1 - 0.8 })
        let mask = Tensor(shape: [1, length], bools: (0..<length).map { $0 >= length - paddedTail })
        return ["x": x, "padding_mask": mask]
    }

    /// Sequences of different lengths share a batch (padded, masked) and each answer equals the
    /// unbatched one; the client's own padding (mask true) keeps working.
    @Test func variableLengthRequestsShareABatchAndMatchTheirUnbatchedOutputs() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        var policy = BatchingPolicy(maxBatchSize: 8, maxQueueDelayNanoseconds: 100_000_000)
        policy.padding = .init(dimension: "seq", maskInput: "padding_mask")
        let scheduler = try BatchScheduler(model: Self.encoder, policy: policy, pool: pool)
        let requests = [Self.request(length: 3, seed: 1), Self.request(length: 5, seed: 2), Self.request(length: 4, seed: 3, paddedTail: 1)]
        let completions = Completions()
        for (id, inputs) in requests.enumerated() { scheduler.enqueue(inputs) { completions.record(id, $0) } }
        #expect(completions.wait(for: 3))
        #expect(scheduler.currentStatistics().batchSizes == [3: 1], "one batch of all three")
        for (id, inputs) in requests.enumerated() {
            let alone = try Self.encoder.run(inputs)[0]
            guard case .success(let outputs)? = completions.result(id) else {
                Issue.record("request \(id) failed: \(String(describing: completions.result(id)))")
                continue
            }
            #expect(outputs[0].shape == alone.shape)
            let difference = zip(outputs[0].scalars, alone.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-5, "request \(id) differs by \(difference)")
        }
    }

    @Test func withoutPaddingDifferentLengthsNeverShareABatch() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: Self.encoder, policy: BatchingPolicy(maxBatchSize: 8, maxQueueDelayNanoseconds: 100_000_000), pool: pool)
        let completions = Completions()
        for (id, length) in [3, 5, 3].enumerated() { scheduler.enqueue(Self.request(length: length, seed: id)) { completions.record(id, $0) } }
        #expect(completions.wait(for: 3))
        #expect(scheduler.currentStatistics().batchSizes == [2: 1, 1: 1])
    }

    @Test func paddingOnAModelWithoutTheDimensionIsRefused() {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        var policy = BatchingPolicy(maxBatchSize: 8)
        policy.padding = .init(dimension: "seq", maskInput: nil)
        #expect(throws: SchedulingError.self) { try BatchScheduler(model: BatchSchedulerTests.model, policy: policy, pool: pool) }
        policy.padding = .init(dimension: "seq", maskInput: "x")
        #expect(throws: SchedulingError.self) { try BatchScheduler(model: Self.encoder, policy: policy, pool: pool) }
    }
}

@Suite struct InlineBatchTests {
    static func submissions(_ ids: Range<Int>) -> [BatchScheduler.Submission] {
        ids.map { BatchScheduler.Submission(inputs: ["features": BatchSchedulerTests.row($0)]) { _ in } }
    }

    @Test func requestsArrivingTogetherRunAsOneBatchOnTheCallersThread() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: BatchSchedulerTests.model, policy: BatchingPolicy(maxBatchSize: 16), pool: pool)
        let results = try #require(scheduler.runInlineBatch(Self.submissions(0..<5)))
        for (id, result) in results.enumerated() {
            guard case .success(let outputs) = result else { Issue.record("request \(id) failed"); continue }
            #expect(outputs[0].scalars == BatchSchedulerTests.alone(BatchSchedulerTests.row(id)))
        }
        let statistics = scheduler.currentStatistics()
        #expect(statistics.batchSizes == [5: 1])
        #expect(statistics.inlineRequests == 5)
    }

    /// Real clients always send a deadline; it is honoured, not a reason to skip the fast path.
    @Test func deadlinesAreKeptOnTheInlinePath() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        let scheduler = try BatchScheduler(model: BatchSchedulerTests.model, policy: BatchingPolicy(maxBatchSize: 16, priorityLevels: 2), pool: pool)
        var submissions = Self.submissions(0..<3)
        submissions[0].timeoutNanoseconds = 10_000_000_000
        submissions[1].priority = 1
        submissions[2].timeoutNanoseconds = 1  // already over by the time the batch finishes
        let results = try #require(scheduler.runInlineBatch(submissions))
        guard case .success = results[0], case .success = results[1], case .failure(.deadlineExceeded) = results[2] else {
            Issue.record("unexpected results \(results)")
            return
        }
    }

    @Test func costlyBatchesAndUnusualRequestsGoToTheQueue() throws {
        let pool = ComputePool(threadCount: 1)
        defer { pool.shutdown() }
        var policy = BatchingPolicy(maxBatchSize: 16)
        policy.inlineBatchBudgetNanoseconds = 1  // any measured cost exceeds it
        let scheduler = try BatchScheduler(model: BatchSchedulerTests.model, policy: policy, pool: pool)
        _ = scheduler.runInline(["features": BatchSchedulerTests.row(0)])  // measures the cost
        #expect(scheduler.runInlineBatch(Self.submissions(0..<4)) == nil)
        let roomy = try BatchScheduler(model: BatchSchedulerTests.model, policy: BatchingPolicy(maxBatchSize: 16, priorityLevels: 2), pool: pool)
        var invalid = Self.submissions(0..<2)
        invalid[0].priority = 3
        #expect(roomy.runInlineBatch(invalid) == nil, "a refusal is reported by the queued path")
        #expect(roomy.runInlineBatch(Self.submissions(0..<17)) == nil, "over max_batch_size")
        var mixed = Self.submissions(0..<2)
        mixed[1].inputs = ["features": Tensor(shape: [2, 10], scalars: Array(repeating: 1, count: 20))]
        #expect(roomy.runInlineBatch(mixed) != nil, "different row counts share a batch")
        let delayed = try BatchScheduler(model: BatchSchedulerTests.model, policy: BatchingPolicy(maxBatchSize: 16, maxQueueDelayNanoseconds: 1000), pool: pool)
        #expect(delayed.runInlineBatch(Self.submissions(0..<2)) == nil, "a configured delay means: wait for company")
    }
}
