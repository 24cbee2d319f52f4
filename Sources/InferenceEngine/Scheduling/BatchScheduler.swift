/// Queues one model's requests, forms batches and runs them on a ``ComputePool``.
///
/// - Requests are batched only with requests whose non-batch dimensions agree (same sequence
///   length, same image size), so a batch is always one rectangular tensor per input.
/// - With an idle queue and zero queue delay, ``runInline(_:timeoutNanoseconds:)`` runs the
///   request on the caller's thread: no hand-off, no wake-up. Under load, requests queue and
///   batches form from whatever arrived while the instances were busy.
/// - A request whose deadline passes while queued is failed without running; a full queue
///   refuses at once; higher priority levels are served first.
public final class BatchScheduler: @unchecked Sendable {
    /// The model the scheduler runs.
    public let model: Model
    /// The queueing and batching policy.
    public let policy: BatchingPolicy
    private let pool: ComputePool
    /// Whether requests may share an execution (the model has a batch dimension and the
    /// policy's max_batch_size is above 1).
    public let batchesRequests: Bool
    /// Where each input and output carries the batch (model order); all 0 when not batching.
    let inputAxes: [Int]
    let outputAxes: [Int]
    /// Where each input and output carries the padded (variable) dimension, if padding is on.
    private let inputPadAxes: [Int?]
    private let outputPadAxes: [Int?]

    // Guarded by pool.lock.
    private var queues: [[ScheduledRequest]]
    private var queued = 0
    private var running = 0
    private var earliestDeadline: UInt64 = .max
    private var statistics = SchedulerStatistics()
    /// Moving average (1/8) of execution time per row, in ns: the inline-batch estimate.
    private var rowCost: UInt64 = 0

    enum Next {
        case ready(Batch)
        case wait(until: UInt64)
        case idle
    }

    /// - Throws: ``SchedulingError/invalidRequest(_:)`` when the policy is invalid, or when it
    ///   asks for batching and the model's inputs and outputs do not share a leading symbolic
    ///   (batch) dimension.
    public init(model: Model, policy: BatchingPolicy, pool: ComputePool) throws(SchedulingError) {
        if let problem = policy.validationError { throw .invalidRequest(problem) }
        self.model = model
        self.policy = policy
        self.pool = pool
        self.queues = Array(repeating: [], count: policy.priorityLevels)
        if policy.maxBatchSize > 1 {
            do {
                (inputAxes, outputAxes) = try Self.batchAxes(model, overrides: policy.batchAxes)
            } catch {
                throw .invalidRequest("cannot batch this model: \(error.description)")
            }
            batchesRequests = true
        } else {
            inputAxes = Array(repeating: 0, count: model.inputs.count)
            outputAxes = Array(repeating: 0, count: model.outputs.count)
            batchesRequests = false
        }
        if let padding = policy.padding {
            guard batchesRequests else { throw .invalidRequest("padding needs max_batch_size above 1") }
            let symbol = Dimension.symbolic(padding.dimension)
            inputPadAxes = model.inputs.map { $0.dimensions.firstIndex(of: symbol) }
            outputPadAxes = model.outputs.map { $0.dimensions.firstIndex(of: symbol) }
            guard inputPadAxes.contains(where: { $0 != nil }) else {
                throw .invalidRequest("padding: no input has a '\(padding.dimension)' dimension")
            }
            if let mask = padding.maskInput {
                guard let index = model.inputs.firstIndex(where: { $0.name == mask }), model.inputs[index].elementType == .bool,
                      inputPadAxes[index] != nil else {
                    throw .invalidRequest("padding: mask input '\(mask)' must be a bool input with a '\(padding.dimension)' dimension")
                }
            }
        } else {
            inputPadAxes = Array(repeating: nil, count: model.inputs.count)
            outputPadAxes = Array(repeating: nil, count: model.outputs.count)
        }
        pool.register(self)
    }

    /// The batch axis of every input and output: an explicit override, or the position of the
    /// one symbolic dimension that all inputs share (`batch`).
    static func batchAxes(_ model: Model, overrides: [String: Int]) throws(SchedulingError) -> ([Int], [Int]) {
        func symbols(_ info: ValueInfo) -> [String] {
            info.dimensions.compactMap { if case .symbolic(let name) = $0 { name } else { nil } }
        }
        var shared: Set<String>?
        for info in model.inputs where overrides[info.name] == nil {
            let own = Set(symbols(info))
            shared = shared.map { $0.intersection(own) } ?? own
        }
        let candidates = shared ?? []
        // Several shared symbols ([batch, seq, ...]): the earliest in the first input, which is
        // the batch in every common layout; others can name their axis in the config.
        let first = model.inputs.first { overrides[$0.name] == nil }.map(symbols) ?? []
        guard let symbol = first.first(where: candidates.contains) else {
            throw .invalidRequest("the inputs share no symbolic (batch) dimension; give batch axes in the config")
        }
        func axis(_ info: ValueInfo) throws(SchedulingError) -> Int {
            if let axis = overrides[info.name] {
                guard axis >= 0, axis < info.dimensions.count else { throw .invalidRequest("batch axis \(axis) is outside '\(info.name)'") }
                return axis
            }
            guard let axis = info.dimensions.firstIndex(of: .symbolic(symbol)) else {
                throw .invalidRequest("'\(info.name)' has no '\(symbol)' dimension (give its batch axis in the config)")
            }
            return axis
        }
        var inputs: [Int] = []
        for info in model.inputs { inputs.append(try axis(info)) }
        var outputs: [Int] = []
        for info in model.outputs { outputs.append(try axis(info)) }
        return (inputs, outputs)
    }

    /// A copy of the statistics so far.
    public func currentStatistics() -> SchedulerStatistics {
        pool.lock.lock()
        defer { pool.lock.unlock() }
        return statistics
    }

    // MARK: Submitting

    /// Runs `inputs` on the calling thread if the model is idle and the policy does not delay,
    /// returning the outputs; returns nil (and does nothing) when the request must queue.
    public func runInline(
        _ inputs: [String: Tensor], priority: Int? = nil, timeoutNanoseconds: UInt64 = 0
    ) -> Result<[Tensor], SchedulingError>? {
        // The same checks as a queued request: the fast path must not be a way around them.
        // Without batching, prepare's checks are exactly those Model.run makes next, so they run
        // once, there; with batching, prepare adds the batch-size rules.
        do { try validatePriority(priority) } catch { return .failure(error) }
        if batchesRequests {
            do { _ = try prepare(inputs) } catch { return .failure(error) }
        }
        pool.lock.lock()
        guard queued == 0, running < policy.instanceCount, policy.maxQueueDelayNanoseconds == 0 else {
            pool.lock.unlock()
            return nil
        }
        running += 1
        pool.lock.unlock()
        let start = SchedulerLock.now()
        let result: Result<[Tensor], SchedulingError>
        do {
            result = .success(try model.run(inputs))
        } catch {
            result = .failure(.inference(error))
        }
        let elapsed = SchedulerLock.now() &- start
        pool.lock.lock()
        running -= 1
        statistics.inlineRequests += 1
        statistics.executedRequests += 1
        if case .success(let outputs) = result {
            let rows = outputs.first?.shape.first ?? 1
            statistics.recordBatch(rows: rows, computeNanoseconds: elapsed)
            noteRowCost(elapsed, rows: rows)
        }
        if queued > 0 { pool.wakeWorker() }
        pool.lock.unlock()
        if case .success = result, let limit = effectiveTimeout(timeoutNanoseconds), elapsed > limit {
            return .failure(.deadlineExceeded)
        }
        return result
    }

    /// One request for ``enqueue(_:)``.
    public struct Submission: Sendable {
        public var inputs: [String: Tensor]
        /// 1 (highest) ... `policy.priorityLevels`; nil uses the default.
        public var priority: Int?
        /// The request's own deadline from now (0 = none); it can only shorten the policy's
        /// default timeout.
        public var timeoutNanoseconds: UInt64
        /// Runs exactly once: on a compute thread with the outputs, or on the calling thread
        /// at once if the request is refused.
        public var completion: @Sendable (Result<[Tensor], SchedulingError>) -> Void

        public init(inputs: [String: Tensor], priority: Int? = nil, timeoutNanoseconds: UInt64 = 0,
                    completion: @escaping @Sendable (Result<[Tensor], SchedulingError>) -> Void) {
            self.inputs = inputs
            self.priority = priority
            self.timeoutNanoseconds = timeoutNanoseconds
            self.completion = completion
        }
    }

    /// Queues one request. - Returns: the handle for ``cancel(_:)``, or nil if it was refused.
    @discardableResult
    public func enqueue(
        _ inputs: [String: Tensor], priority: Int? = nil, timeoutNanoseconds: UInt64 = 0,
        completion: @escaping @Sendable (Result<[Tensor], SchedulingError>) -> Void
    ) -> ScheduledRequest? {
        enqueue([Submission(inputs: inputs, priority: priority, timeoutNanoseconds: timeoutNanoseconds, completion: completion)])[0]
    }

    /// Queues requests that arrived together in one step (one lock, one wake-up), so that a
    /// worker sees them all and batches them rather than starting on the first alone.
    /// - Returns: a handle per submission, nil where it was refused.
    public func enqueue(_ submissions: [Submission]) -> [ScheduledRequest?] {
        var handles: [ScheduledRequest?] = []
        handles.reserveCapacity(submissions.count)
        var accepted: [ScheduledRequest] = []
        var refused: [(Submission, SchedulingError)] = []
        let now = SchedulerLock.now()
        for submission in submissions {
            let level = submission.priority ?? policy.defaultPriority
            do {
                try validatePriority(level)
                let prepared = try prepare(submission.inputs)
                let deadline = effectiveTimeout(submission.timeoutNanoseconds).map { now &+ $0 } ?? 0
                let request = ScheduledRequest(
                    inputs: prepared.0, rows: prepared.1, signature: prepared.2, length: prepared.3, priority: level - 1,
                    deadline: deadline, enqueuedAt: now, completion: submission.completion)
                accepted.append(request)
                handles.append(request)
            } catch {
                refused.append((submission, error))
                handles.append(nil)
            }
        }
        pool.lock.lock()
        var full: [ScheduledRequest] = []
        for request in accepted {
            guard queued < policy.maxQueueSize else {
                statistics.rejectedQueueFull += 1
                full.append(request)
                continue
            }
            queues[request.priority].append(request)
            queued += 1
            if request.deadline != 0 { earliestDeadline = min(earliestDeadline, request.deadline) }
        }
        if queued > 0 { pool.wakeWorker() }
        pool.lock.unlock()
        for (submission, error) in refused { submission.completion(.failure(error)) }
        for request in full {
            request.state = .finished
            if let index = handles.firstIndex(where: { $0 === request }) { handles[index] = nil }
            request.completion(.failure(.queueFull(policy.maxQueueSize)))
        }
        return handles
    }

    /// Drops a queued request and completes it with `.cancelled`. A request already running is
    /// left to finish (its outputs are still delivered). Returns true if it was dropped.
    @discardableResult
    public func cancel(_ request: ScheduledRequest) -> Bool {
        pool.lock.lock()
        guard request.state == .queued, let index = queues[request.priority].firstIndex(where: { $0 === request }) else {
            pool.lock.unlock()
            return false
        }
        queues[request.priority].remove(at: index)
        queued -= 1
        request.state = .finished
        statistics.cancelledInQueue += 1
        pool.lock.unlock()
        request.completion(.failure(.cancelled))
        return true
    }

    /// Updates the per-row cost estimate (lock held).
    private func noteRowCost(_ nanoseconds: UInt64, rows: Int) {
        let perRow = nanoseconds / UInt64(max(1, rows))
        rowCost = rowCost == 0 ? perRow : (rowCost * 7 + perRow) / 8
    }

    /// Runs requests that arrived together as one batch on the calling thread, when the model
    /// is idle, they can share a batch, and the batch is cheap enough
    /// (``BatchingPolicy/inlineBatchBudgetNanoseconds``) that a hand-off to the compute pool
    /// would cost more than it saves. Returns one result per request, or nil to queue them.
    public func runInlineBatch(_ submissions: [Submission]) -> [Result<[Tensor], SchedulingError>]? {
        guard batchesRequests, submissions.count > 1, policy.maxQueueDelayNanoseconds == 0 else { return nil }
        var requests: [ScheduledRequest] = []
        let now = SchedulerLock.now()
        for submission in submissions {
            // A request that would be refused takes the queued path, which reports why.
            guard (try? validatePriority(submission.priority)) != nil, let prepared = try? prepare(submission.inputs) else { return nil }
            let deadline = effectiveTimeout(submission.timeoutNanoseconds).map { now &+ $0 } ?? 0
            requests.append(ScheduledRequest(inputs: prepared.0, rows: prepared.1, signature: prepared.2, length: prepared.3,
                                             priority: 0, deadline: deadline, enqueuedAt: now, completion: submission.completion))
        }
        let rows = requests.reduce(0) { $0 + $1.rows }
        // With padding the signature already leaves the variable dimension out.
        guard rows <= policy.maxBatchSize, requests.allSatisfy({ $0.signature == requests[0].signature }) else { return nil }
        let (estimate, overflow) = rowCost.multipliedReportingOverflow(by: UInt64(rows))
        pool.lock.lock()
        guard queued == 0, running < policy.instanceCount, !overflow, estimate <= policy.inlineBatchBudgetNanoseconds else {
            pool.lock.unlock()
            return nil
        }
        running += 1
        for request in requests { request.state = .running }
        pool.lock.unlock()
        let batch = Batch(scheduler: self, requests: requests, rows: rows)
        let start = SchedulerLock.now()
        let result: Result<[[Tensor]], SchedulingError>
        do { result = .success(try run(batch)) } catch { result = .failure(error) }
        let elapsed = SchedulerLock.now() &- start
        pool.lock.lock()
        running -= 1
        statistics.inlineRequests += UInt64(requests.count)
        statistics.executedRequests += UInt64(requests.count)
        statistics.recordBatch(rows: rows, computeNanoseconds: elapsed)
        noteRowCost(elapsed, rows: rows)
        for request in requests { request.state = .finished }
        if queued > 0 { pool.wakeWorker() }
        pool.lock.unlock()
        // As for a single inline request: an answer past its deadline is not an answer.
        let finished = SchedulerLock.now()
        switch result {
        case .success(let outputs):
            return zip(requests, outputs).map { request, outputs in
                request.deadline != 0 && finished > request.deadline ? .failure(.deadlineExceeded) : .success(outputs)
            }
        case .failure(let error):
            return Array(repeating: .failure(error), count: requests.count)
        }
    }

    private func validatePriority(_ level: Int?) throws(SchedulingError) {
        guard let level else { return }
        guard (1...policy.priorityLevels).contains(level) else {
            throw .invalidRequest("priority \(level) is outside 1...\(policy.priorityLevels)")
        }
    }

    private func effectiveTimeout(_ requested: UInt64) -> UInt64? {
        let limit = policy.defaultTimeoutNanoseconds
        switch (requested, limit) {
        case (0, 0): return nil
        case (0, _): return limit
        case (_, 0): return requested
        default: return min(requested, limit)
        }
    }

    /// Orders the inputs and checks everything that would otherwise fail a whole batch.
    private func prepare(_ inputs: [String: Tensor]) throws(SchedulingError) -> ([Tensor], Int, [[Int]], Int) {
        var ordered: [Tensor] = []
        ordered.reserveCapacity(model.inputs.count)
        var signature: [[Int]] = []
        var rows: Int?
        var length: Int?
        for info in model.inputs {
            guard let tensor = inputs[info.name] else { throw .invalidRequest("missing input '\(info.name)'") }
            guard tensor.shape.count == info.dimensions.count, tensor.elementType == info.elementType else {
                throw .invalidRequest("input '\(info.name)' has shape \(tensor.shape) of \(tensor.elementType); expected \(info.dimensions) of \(info.elementType)")
            }
            for (axis, dimension) in info.dimensions.enumerated() {
                if case .fixed(let size) = dimension, tensor.shape[axis] != size {
                    throw .invalidRequest("input '\(info.name)': dimension \(axis) must be \(size), got \(tensor.shape[axis])")
                }
            }
            if batchesRequests {
                let axis = inputAxes[ordered.count]
                let batch = tensor.shape[axis]
                if let rows, rows != batch {
                    throw .invalidRequest("inputs disagree on the batch dimension (\(rows) and \(batch))")
                }
                rows = batch
                // The signature leaves out what may differ within a batch: the batch itself and,
                // with padding, the variable dimension.
                var rest = tensor.shape
                if let padAxis = inputPadAxes[ordered.count] {
                    let size = tensor.shape[padAxis]
                    if let length, length != size {
                        throw .invalidRequest("inputs disagree on the '\(policy.padding!.dimension)' dimension (\(length) and \(size))")
                    }
                    length = size
                    rest[padAxis] = -1
                }
                rest.remove(at: axis)
                signature.append(rest)
            }
            ordered.append(tensor)
        }
        if inputs.count != model.inputs.count {
            let unknown = inputs.keys.filter { name in !model.inputs.contains { $0.name == name } }.sorted()
            throw .invalidRequest("unknown input(s) \(unknown.map { "'\($0)'" }.joined(separator: ", "))")
        }
        let batchRows = rows ?? 1
        if batchesRequests && batchRows > policy.maxBatchSize {
            throw .invalidRequest("batch of \(batchRows) exceeds the model's max_batch_size of \(policy.maxBatchSize)")
        }
        if batchesRequests && batchRows == 0 { throw .invalidRequest("empty batch") }
        return (ordered, batchRows, signature, length ?? 0)
    }

    // MARK: Forming batches (pool.lock held)

    /// The next batch to run now, or when to look again.
    func nextBatch(now: UInt64, expired: inout [ScheduledRequest]) -> Next {
        if now >= earliestDeadline { removeExpired(now: now, into: &expired) }
        guard queued > 0 else { return .idle }
        guard running < policy.instanceCount else { return .idle }  // finishing a batch wakes a worker
        guard let head = queues.lazy.compactMap(\.first).first else { return .idle }

        // Gather compatible requests in priority, then arrival, order.
        var chosen: [(level: Int, index: Int)] = []
        var rows = 0
        var oldest = head.enqueuedAt
        let limit = batchesRequests ? policy.maxBatchSize : head.rows
        gathering: for level in queues.indices {
            for (index, request) in queues[level].enumerated() where request.signature == head.signature {
                if rows + request.rows > limit { if batchesRequests { break gathering } else { continue } }
                chosen.append((level, index))
                rows += request.rows
                oldest = min(oldest, request.enqueuedAt)
                if !batchesRequests { break gathering }
            }
        }
        let full = !batchesRequests || rows >= policy.maxBatchSize
        let preferred = policy.preferredBatchSizes.filter { $0 <= rows }.max()
        let waitedEnough = now >= oldest &+ policy.maxQueueDelayNanoseconds
        // As in Triton: a batch goes as soon as it is full, a preferred size can be formed, or
        // the oldest request has waited the configured delay.
        guard full || waitedEnough || preferred != nil else {
            // Wake for whichever comes first: the batching delay or a queued deadline (so an
            // expiring request is answered at its deadline, not at the end of the delay).
            return .wait(until: min(oldest &+ policy.maxQueueDelayNanoseconds, earliestDeadline))
        }
        // Cut at the largest preferred size available unless the delay has run out.
        if let preferred, !waitedEnough, !full {
            var total = 0
            chosen = Array(chosen.prefix { item in
                total += queues[item.level][item.index].rows
                return total <= preferred
            })
            rows = chosen.reduce(0) { $0 + queues[$1.level][$1.index].rows }
        }
        var requests: [ScheduledRequest] = []
        requests.reserveCapacity(chosen.count)
        for item in chosen { requests.append(queues[item.level][item.index]) }
        for level in queues.indices where chosen.contains(where: { $0.level == level }) {
            let taken = Set(chosen.filter { $0.level == level }.map(\.index))
            queues[level] = queues[level].enumerated().filter { !taken.contains($0.offset) }.map(\.element)
        }
        queued -= requests.count
        running += 1
        for request in requests {
            request.state = .running
            statistics.queueCount += 1
            statistics.queueNanoseconds &+= now &- request.enqueuedAt
        }
        return .ready(Batch(scheduler: self, requests: requests, rows: rows))
    }

    private func removeExpired(now: UInt64, into expired: inout [ScheduledRequest]) {
        var next: UInt64 = .max
        var removed = 0
        for level in queues.indices {
            queues[level].removeAll { request in
                if request.deadline != 0 && request.deadline <= now {
                    request.state = .finished
                    expired.append(request)
                    removed += 1
                    return true
                }
                if request.deadline != 0 { next = min(next, request.deadline) }
                return false
            }
        }
        queued -= removed
        statistics.expiredInQueue += UInt64(removed)
        earliestDeadline = next
    }

    /// Fails everything queued (shutdown); returns the requests to complete outside the lock.
    func drainQueue() -> [ScheduledRequest] {
        let all = queues.flatMap { $0 }
        for request in all { request.state = .finished }
        queues = Array(repeating: [], count: queues.count)
        queued = 0
        return all
    }

    // MARK: Running (no lock held)

    func execute(_ batch: Batch) {
        let start = SchedulerLock.now()
        let result: Result<[[Tensor]], SchedulingError>
        do {
            result = .success(try run(batch))
        } catch {
            result = .failure(error)
        }
        let elapsed = SchedulerLock.now() &- start
        pool.lock.lock()
        running -= 1
        statistics.executedRequests += UInt64(batch.requests.count)
        statistics.recordBatch(rows: batch.rows, computeNanoseconds: elapsed)
        noteRowCost(elapsed, rows: batch.rows)
        for request in batch.requests { request.state = .finished }
        if queued > 0 { pool.wakeWorker() }
        pool.lock.unlock()
        switch result {
        case .success(let perRequest):
            for (request, outputs) in zip(batch.requests, perRequest) { request.completion(.success(outputs)) }
        case .failure(let error):
            for request in batch.requests { request.completion(.failure(error)) }
        }
    }

    private func run(_ batch: Batch) throws(SchedulingError) -> [[Tensor]] {
        let longest = batch.requests.map(\.length).max() ?? 0
        var feeds: [String: Tensor] = [:]
        feeds.reserveCapacity(model.inputs.count)
        for (index, info) in model.inputs.enumerated() {
            guard batch.requests.count > 1 else {
                feeds[info.name] = batch.requests[0].inputs[index]
                continue
            }
            var parts = batch.requests.map { $0.inputs[index] }
            if let padAxis = inputPadAxes[index] {
                let isMask = info.name == policy.padding?.maskInput
                parts = parts.map { BatchAssembler.pad($0, axis: padAxis, to: longest, fill: isMask) }
            }
            feeds[info.name] = BatchAssembler.concatenate(parts, axis: inputAxes[index])
        }
        let outputs: [Tensor]
        do { outputs = try model.run(feeds) } catch { throw .inference(error) }
        guard batch.requests.count > 1 else { return [outputs] }
        var perRequest = try BatchAssembler.split(outputs, axes: outputAxes, rows: batch.requests.map(\.rows))
        for (request, index) in zip(batch.requests, perRequest.indices) where request.length < longest {
            for (output, padAxis) in outputPadAxes.enumerated() {
                if let padAxis { perRequest[index][output] = BatchAssembler.trim(perRequest[index][output], axis: padAxis, to: request.length) }
            }
        }
        return perRequest
    }
}
