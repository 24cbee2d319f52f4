import Synchronization
import TensorWireClient
import TensorWireProtocol

/// Drives one load level (an open-loop rate or a closed-loop concurrency) against a set of
/// connections and records every request.
///
/// **Open loop.** Each pacing thread owns `connections / threads` connections and a schedule
/// `start + n / ratePerThread` (thread `t` is offset by `t / rate` so that threads interleave
/// instead of bursting together). At each intended instant the thread reserves a slot on one of
/// its connections and starts the call through the client's async API on an ``InlineExecutor``:
/// the thread writes the request itself and goes straight back to its schedule, and the client's
/// reader thread records the completion as it delivers the response. A slow response therefore
/// never delays the next send: only a full connection (``RunSettings/maxInFlightPerConnection``)
/// or a saturated client can, and then the send is late and counted as such. Latency is recorded
/// twice: *corrected* from the intended instant (what a user arriving on schedule would see) and
/// *uncorrected* from the actual send. If the thread falls behind, it sends the overdue requests
/// back to back, each still measured from its own intended instant (no coordinated omission).
///
/// **Closed loop.** `concurrency` threads, spread round-robin over the connections, each make a
/// blocking call and the next one when it returns. There is no schedule, so corrected and
/// uncorrected latencies are the same (a closed loop cannot see what it did not send).
public final class LoadRunner: @unchecked Sendable {
    public let settings: RunSettings
    private let clients: [TensorWireClient]
    private let inputs: InputSource
    private let template: HdrHistogram
    private let stopping = Atomic<Bool>(false)
    private let executor = InlineExecutor()
    private let finishedWorkers = Atomic<Int>(0)
    private let closedLoopBudget = Atomic<Int>(0)
    private var recorders: [Recorder] = []
    private var workers: [WorkerThread] = []
    private var workerCount = 0
    /// Instant the schedule started (monotonic ns).
    public private(set) var startedAt: UInt64 = 0
    /// Instant measurement starts: requests intended before it are warm-up.
    public private(set) var measureFrom: UInt64 = 0

    // Harvest accumulators, used only by the thread that calls harvestWindow().
    private let windowCorrected: HdrHistogram
    private let windowUncorrected: HdrHistogram

    /// - Parameters:
    ///   - clients: one per connection; the runner never closes them.
    ///   - template: the histogram layout to record into.
    public init(clients: [TensorWireClient], inputs: InputSource, settings: RunSettings, template: HdrHistogram = HdrHistogram()) {
        precondition(!clients.isEmpty, "LoadRunner needs at least one connection")
        self.clients = clients
        self.inputs = inputs
        self.settings = settings
        self.template = template
        windowCorrected = template.makeEmptyCopy()
        windowUncorrected = template.makeEmptyCopy()
    }

    /// Starts sending. Requests intended in the first `warmup` are not part of the run's
    /// statistics (they still show in the live windows).
    public func start(warmup: Duration = .zero) {
        precondition(workers.isEmpty, "LoadRunner.start() called twice")
        let now = Clock.now()
        // Pacing threads start a little later so that all of them are created before the first
        // intended instant (otherwise the first requests would all be late).
        startedAt = now + 2_000_000
        measureFrom = startedAt + nanoseconds(warmup)
        switch settings.mode {
        case .openLoop(let rate):
            precondition(rate > 0, "rate must be positive")
            let threads = max(1, min(settings.threads, clients.count))
            workerCount = threads
            for thread in 0..<threads {
                let owned = stride(from: thread, to: clients.count, by: threads).map { clients[$0] }
                let recorder = Recorder(connections: owned.count, measureFrom: measureFrom, template: template)
                recorders.append(recorder)
                let limit = settings.requestLimit.map { $0 / threads + (thread < $0 % threads ? 1 : 0) }
                let pacer = Pacer(
                    runner: self, recorder: recorder, clients: owned, index: thread, threads: threads,
                    rate: rate, requestLimit: limit)
                workers.append(WorkerThread { pacer.run() })
            }
        case .closedLoop(let concurrency):
            precondition(concurrency > 0, "concurrency must be positive")
            closedLoopBudget.store(settings.requestLimit ?? Int.max, ordering: .relaxed)
            workerCount = concurrency
            recorders = clients.map { _ in Recorder(connections: 1, measureFrom: measureFrom, template: template) }
            for slot in 0..<concurrency {
                let connection = slot % clients.count
                let recorder = recorders[connection]
                let client = clients[connection]
                workers.append(WorkerThread { [self] in closedLoop(slot: slot, client: client, recorder: recorder) })
            }
        }
    }

    /// True once every worker has stopped sending (request limit reached, or ``stop()``).
    public var sendingFinished: Bool { finishedWorkers.load(ordering: .acquiring) == workerCount }

    var shouldStop: Bool { stopping.load(ordering: .relaxed) }

    /// Statistics of the completions since the previous call, for live output and stability.
    public func harvestWindow() -> WindowStatistics {
        var counts = RequestCounts()
        windowCorrected.reset()
        windowUncorrected.reset()
        for recorder in recorders { recorder.harvest(into: windowCorrected, windowUncorrected, counts: &counts) }
        return WindowStatistics(counts: counts, corrected: windowCorrected, uncorrected: windowUncorrected)
    }

    /// Stops sending, waits for the calls in flight (at most the call timeout plus a second:
    /// every call ends by its deadline), joins the threads and returns the run's measurements.
    public func stop() -> RunMeasurements {
        let finishedOnItsOwn = sendingFinished
        let stopInstant = Clock.now()
        stopping.store(true, ordering: .relaxed)
        for recorder in recorders { recorder.wakeWaiters() }
        for worker in workers { worker.join() }
        let sendEnd = Clock.now()
        let deadline = sendEnd + nanoseconds(settings.timeout) + 1_000_000_000
        var drained = true
        for recorder in recorders where !recorder.drain(until: deadline) { drained = false }
        let corrected = template.makeEmptyCopy()
        let uncorrected = template.makeEmptyCopy()
        var counts = RequestCounts()
        for recorder in recorders { recorder.collectRun(into: corrected, uncorrected, counts: &counts) }
        // The measured interval ends when sending stopped: at this call, or, when a request limit
        // ended the run earlier, one interval after the last measured send.
        let end = max(finishedOnItsOwn ? lastSendInstant.load(ordering: .relaxed) : stopInstant, measureFrom)
        var measurements = RunMeasurements(
            counts: counts, corrected: corrected, uncorrected: uncorrected,
            measuredNanoseconds: end > measureFrom ? end - measureFrom : 0, drained: drained)
        measurements.measureFrom = measureFrom
        return measurements
    }

    /// Open loop: the latest measured intended instant plus one interval; closed loop: the
    /// latest completion. The end of the measured interval when a request limit stops the run.
    let lastSendInstant = Atomic<UInt64>(0)

    func noteSend(_ instant: UInt64) {
        var current = lastSendInstant.load(ordering: .relaxed)
        while instant > current {
            let (exchanged, original) = lastSendInstant.compareExchange(expected: current, desired: instant, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    func workerFinished() { finishedWorkers.add(1, ordering: .releasing) }

    // MARK: Closed loop

    private func closedLoop(slot: Int, client: TensorWireClient, recorder: Recorder) {
        defer { workerFinished() }
        var n = slot
        while !shouldStop {
            let instant = Clock.now()
            if instant >= measureFrom {
                if closedLoopBudget.subtract(1, ordering: .relaxed).oldValue <= 0 { break }
            }
            guard recorder.reserveSlot(startingAt: 0, limit: Int.max) != nil else { break }
            recorder.recordSend(intended: instant, actual: instant, lateThreshold: settings.lateThresholdNanoseconds)
            var status: StatusCode?
            do {
                _ = try client.infer(model: settings.model, version: settings.version, inputs: inputs.inputs(for: n),
                                     outputs: settings.outputs, timeout: settings.timeout)
            } catch {
                status = error.code
            }
            let completed = Clock.now()
            recorder.recordCompletion(connection: 0, intended: instant, actual: instant, completed: completed, status: status)
            noteSend(completed)
            n += workerCount
        }
    }

    // MARK: Open loop

    /// Starts one open-loop call; returns once its request is written.
    func dispatch(client: TensorWireClient, connection: Int, recorder: Recorder, intended: UInt64, n: Int) {
        let settings = self.settings
        let inputs = self.inputs.inputs(for: n)
        if intended >= measureFrom, let rate = settings.mode.targetRate { noteSend(intended + UInt64(1e9 / rate)) }
        Task.detached(executorPreference: executor) {
            let actual = Clock.now()
            recorder.recordSend(intended: intended, actual: actual, lateThreshold: settings.lateThresholdNanoseconds)
            var status: StatusCode?
            do throws(RPCError) {
                _ = try await client.infer(model: settings.model, version: settings.version, inputs: inputs,
                                           outputs: settings.outputs, timeout: settings.timeout)
            } catch {
                status = error.code
            }
            recorder.recordCompletion(connection: connection, intended: intended, actual: actual, completed: Clock.now(), status: status)
        }
    }
}

/// One open-loop pacing thread.
private struct Pacer: Sendable {
    let runner: LoadRunner
    let recorder: Recorder
    let clients: [TensorWireClient]
    let index: Int
    let threads: Int
    let rate: Double
    let requestLimit: Int?

    func run() {
        defer { runner.workerFinished() }
        Clock.tightenTimerSlack()
        let interval = Double(threads) / rate * 1e9
        let offset = Double(index) / rate * 1e9
        let start = runner.startedAt
        let measureFrom = runner.measureFrom
        let limit = runner.settings.maxInFlightPerConnection
        var measuredSent = 0
        var n = 0
        var nextConnection = 0
        while !runner.shouldStop {
            // Computed from n, not accumulated, so rounding never drifts the schedule.
            let intended = start + UInt64(offset + Double(n) * interval)
            if intended >= measureFrom, let requestLimit, measuredSent >= requestLimit { break }
            // Sleeps in slices so that a stop is noticed within 10 ms even at very low rates.
            while !runner.shouldStop {
                let now = Clock.now()
                if now >= intended { break }
                Clock.sleep(until: min(intended, now + 10_000_000), spinMargin: runner.settings.spinMarginNanoseconds)
            }
            if runner.shouldStop { break }
            var slot = recorder.reserveSlot(startingAt: nextConnection, limit: limit)
            while slot == nil && !runner.shouldStop {
                // Every connection is full: wait for a completion (this send will be late).
                recorder.waitForSlot(until: Clock.now() + 10_000_000)
                slot = recorder.reserveSlot(startingAt: nextConnection, limit: limit)
            }
            guard let connection = slot else { break }
            nextConnection = (connection + 1) % clients.count
            runner.dispatch(client: clients[connection], connection: connection, recorder: recorder,
                            intended: intended, n: n * threads + index)
            if intended >= measureFrom { measuredSent += 1 }
            n += 1
        }
    }
}

func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    if seconds < 0 { return 0 }
    return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
}
