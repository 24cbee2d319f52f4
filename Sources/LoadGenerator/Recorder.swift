import TensorWireTransport
import TensorWireProtocol

/// The measurements of one group of connections, shared by the threads and tasks that send on
/// them and read once a window by the reporting thread.
///
/// Two sets of histograms: the *run* histograms hold requests intended at or after the end of
/// the warm-up (what the final report covers); the *window* histograms hold every completion
/// since the last ``harvest(into:)`` (the live line and the stability check). Window histograms
/// are double-buffered: a harvest swaps in the spare pair under the lock and reads the full pair
/// outside it, so senders never wait for a merge. Recording is a lock plus constant-time
/// histogram increments and never allocates.
final class Recorder: @unchecked Sendable {
    private let lock = ConditionLock()
    let measureFrom: UInt64

    // Guarded by `lock`.
    private let runCorrected: HdrHistogram
    private let runUncorrected: HdrHistogram
    private var runCounts = RequestCounts()
    private var windowCorrected: HdrHistogram
    private var windowUncorrected: HdrHistogram
    private var windowCounts = RequestCounts()
    private var inFlight: [Int]
    private var totalInFlight = 0
    private var waitingForSlot = false

    // Touched only by the harvesting thread.
    private var spareCorrected: HdrHistogram
    private var spareUncorrected: HdrHistogram

    init(connections: Int, measureFrom: UInt64, template: HdrHistogram) {
        self.measureFrom = measureFrom
        runCorrected = template.makeEmptyCopy()
        runUncorrected = template.makeEmptyCopy()
        windowCorrected = template.makeEmptyCopy()
        windowUncorrected = template.makeEmptyCopy()
        spareCorrected = template.makeEmptyCopy()
        spareUncorrected = template.makeEmptyCopy()
        inFlight = Array(repeating: 0, count: connections)
    }

    /// Reserves a slot on one of the group's connections, round-robin from `start`, among those
    /// with fewer than `limit` calls in flight; nil when all are full.
    func reserveSlot(startingAt start: Int, limit: Int) -> Int? {
        lock.withLock {
            for step in 0..<inFlight.count {
                let connection = (start + step) % inFlight.count
                if inFlight[connection] < limit {
                    inFlight[connection] += 1
                    totalInFlight += 1
                    return connection
                }
            }
            return nil
        }
    }

    /// Blocks until a call of this group completes or `deadline` passes.
    func waitForSlot(until deadline: UInt64) {
        lock.lock()
        waitingForSlot = true
        lock.wait(untilNanoseconds: deadline)
        waitingForSlot = false
        lock.unlock()
    }

    /// Wakes a thread blocked in ``waitForSlot(until:)`` (when stopping).
    func wakeWaiters() { lock.withLock { lock.broadcast() } }

    /// Counts a request as sent at `actual` for intended instant `intended`.
    @inline(__always)
    func recordSend(intended: UInt64, actual: UInt64, lateThreshold: UInt64) {
        let late = actual > intended &+ lateThreshold
        lock.withLock {
            windowCounts.sent += 1
            if late { windowCounts.late += 1 }
            if intended >= measureFrom {
                runCounts.sent += 1
                if late { runCounts.late += 1 }
            }
        }
    }

    /// Records a completed call: `status` nil for success. Latencies are only recorded for
    /// successful calls (errors are counted by status instead).
    @inline(__always)
    func recordCompletion(connection: Int, intended: UInt64, actual: UInt64, completed: UInt64, status: StatusCode?) {
        let corrected = completed &- intended
        let uncorrected = completed &- actual
        lock.withLock {
            if let status {
                windowCounts.recordError(status)
                if intended >= measureFrom { runCounts.recordError(status) }
            } else {
                windowCounts.ok += 1
                windowCorrected.record(corrected)
                windowUncorrected.record(uncorrected)
                if intended >= measureFrom {
                    runCounts.ok += 1
                    runCorrected.record(corrected)
                    runUncorrected.record(uncorrected)
                }
            }
            inFlight[connection] -= 1
            totalInFlight -= 1
            if waitingForSlot { lock.broadcast() }
        }
    }

    /// Calls still outstanding.
    var outstanding: Int { lock.withLock { totalInFlight } }

    /// Waits until no call is outstanding or `deadline` passes; returns whether it drained.
    func drain(until deadline: UInt64) -> Bool {
        lock.withLock {
            while totalInFlight > 0 && Clock.now() < deadline {
                waitingForSlot = true
                lock.wait(untilNanoseconds: min(deadline, Clock.now() + 50_000_000))
                waitingForSlot = false
            }
            return totalInFlight == 0
        }
    }

    /// Adds the window's data to the given accumulators and starts a new window.
    func harvest(into corrected: HdrHistogram, _ uncorrected: HdrHistogram, counts: inout RequestCounts) {
        let (fullCorrected, fullUncorrected, fullCounts) = lock.withLock {
            let taken = (windowCorrected, windowUncorrected, windowCounts)
            windowCorrected = spareCorrected
            windowUncorrected = spareUncorrected
            windowCounts = RequestCounts()
            return taken
        }
        corrected.add(fullCorrected)
        uncorrected.add(fullUncorrected)
        counts += fullCounts
        fullCorrected.reset()
        fullUncorrected.reset()
        spareCorrected = fullCorrected
        spareUncorrected = fullUncorrected
    }

    /// Adds the run's data to the given accumulators (call after the run has drained).
    func collectRun(into corrected: HdrHistogram, _ uncorrected: HdrHistogram, counts: inout RequestCounts) {
        lock.withLock {
            corrected.add(runCorrected)
            uncorrected.add(runUncorrected)
            counts += runCounts
        }
    }
}
