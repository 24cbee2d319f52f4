import InferenceEngine
import TensorWireProtocol
import TensorWireTransport

/// Collects the Infers that one event-loop iteration decoded, across all of the loop's
/// connections, and dispatches them together at the end of the iteration.
///
/// A request that arrived alone runs inline on the loop thread when its model is idle: no
/// hand-off, no wake-up, the lowest latency there is. Requests for a batching model that arrived
/// together, typically because they piled up while the loop was busy, are queued in one step
/// so that they run as one batch. The decision needs no tuning knob: it follows the load.
///
/// Confined to its event loop's thread (`@unchecked Sendable` for the closures that carry it
/// there through `EventLoop.execute`).
final class LoopDispatcher: @unchecked Sendable {
    struct Item {
        let session: ServerSession
        let connection: TLSConnection
        let streamID: UInt32
        let job: InferJob

        /// The request for the scheduler; a queued completion goes back to the connection's
        /// own thread, the only one that may touch the session and its TLS state.
        var submission: BatchScheduler.Submission {
            let (session, connection, streamID, job) = (session, connection, streamID, job)
            return BatchScheduler.Submission(inputs: job.feeds, priority: job.priority, timeoutNanoseconds: job.timeoutNanoseconds) { result in
                connection.eventLoop.execute { session.answer(streamID: streamID, job: job, result: result, connection: connection) }
            }
        }
    }

    private let loop: EventLoop
    /// Requests decoded in the current iteration; swapped with `draining` at dispatch so both
    /// arrays keep their capacity and a steady stream of requests allocates no array storage.
    private var pending: [Item] = []
    private var draining: [Item] = []
    private var scheduled = false
    /// Built once: `loop.execute` of a fresh closure would allocate its context per iteration.
    private lazy var dispatchTask: @Sendable () -> Void = { [unowned self] in self.dispatch() }

    init(loop: EventLoop) { self.loop = loop }

    /// Adds an Infer decoded in this iteration (loop thread).
    func add(_ item: Item) {
        pending.append(item)
        if !scheduled {
            scheduled = true
            // Tasks queued from the loop run after this iteration's events: by then every
            // connection that was readable has been read.
            loop.execute(dispatchTask)
        }
    }

    private func dispatch() {
        scheduled = false
        swap(&pending, &draining)
        defer { draining.removeAll(keepingCapacity: true) }
        if draining.count == 1 {
            // The common case at low load: one request, nothing to batch it with.
            dispatchAlone(draining[0])
            return
        }
        // Several requests: those of a batching model that has company go to it together.
        var groups: [[Item]] = []
        for item in draining {
            guard item.session.acceptsResponses else {
                item.job.settle(.failure(.cancelled))  // the connection is gone; free its sequence
                continue
            }
            let model = item.job.model
            let companions = model.scheduler.batchesRequests && draining.lazy.filter { $0.job.model === model }.count > 1
            if companions {
                if let g = groups.firstIndex(where: { $0[0].job.model === model }) { groups[g].append(item) } else { groups.append([item]) }
            } else {
                dispatchAlone(item)
            }
        }
        for group in groups {
            // Cheap enough to batch right here: no hand-off, and the compute saving is kept.
            if let results = group[0].job.model.scheduler.runInlineBatch(group.map(\.submission)) {
                for (item, result) in zip(group, results) {
                    item.session.answer(streamID: item.streamID, job: item.job, result: result, connection: item.connection)
                }
            } else {
                enqueue(group)
            }
        }
    }

    /// Runs a request inline when its model is idle, else queues it.
    private func dispatchAlone(_ item: Item) {
        guard item.session.acceptsResponses else {
            item.job.settle(.failure(.cancelled))  // the connection is gone; free its sequence
            return
        }
        let scheduler = item.job.model.scheduler
        if let result = scheduler.runInline(item.job.feeds, priority: item.job.priority, timeoutNanoseconds: item.job.timeoutNanoseconds) {
            item.session.answer(streamID: item.streamID, job: item.job, result: result, connection: item.connection)
        } else {
            enqueue([item])
        }
    }

    /// Queues one model's requests in one step (one lock, one wake-up) so they batch together.
    private func enqueue(_ admitted: [Item]) {
        guard let scheduler = admitted.first?.job.model.scheduler else { return }
        for (item, handle) in zip(admitted, scheduler.enqueue(admitted.map(\.submission))) {
            if let handle { item.session.track(streamID: item.streamID, request: handle, scheduler: scheduler) }
        }
    }
}

/// One ``LoopDispatcher`` per event loop, created on first use.
final class LoopDispatchers: Sendable {
    private let dispatchers = Locked<[ObjectIdentifier: LoopDispatcher]>([:])

    func dispatcher(for loop: EventLoop) -> LoopDispatcher {
        dispatchers.withLock { table in
            if let existing = table[ObjectIdentifier(loop)] { return existing }
            let created = LoopDispatcher(loop: loop)
            table[ObjectIdentifier(loop)] = created
            return created
        }
    }
}
