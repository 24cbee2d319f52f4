#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Threads that share the work of one large operator (a GEMM's panels or row blocks) with the
/// thread that runs the model.
///
/// The calling thread always takes part, so a pool of `threadCount` has `threadCount − 1`
/// workers. Between jobs a worker spins for a short while (a model's consecutive large GEMMs
/// then start without a wake-up, which costs tens of microseconds) and then blocks on a
/// condition variable, so an idle model costs no CPU.
///
/// One job runs at a time. A caller that finds the pool busy (another thread's `Model.run`
/// is using it) runs its tasks alone instead of waiting: with concurrent requests the cores are
/// busy anyway, and waiting would only add latency.
///
/// Each thread owns an equal contiguous share of a job's tasks (the caller the first share) and
/// claims them from the front; done with its own, it takes what is left from the back of the
/// others' shares. When every thread is awake, consecutive jobs over the same index space (a
/// Conv's images, then an activation over the same elements) thus give each thread the same
/// part of the data, which its own core wrote; a worker that wakes late (a futex wake-up in a
/// VM takes tens of microseconds) loses the tail of its share to the caller instead of holding
/// the caller up until it has done half the job.
final class IntraOpPool: @unchecked Sendable {
    /// Threads that take part in a job, the caller included.
    let threadCount: Int
    private let state: State
    private var threads: [pthread_t] = []

    /// Jobs handed to the workers so far (not counting those run alone because the pool was busy
    /// or had nothing to split): lets tests see that a kernel really went parallel.
    var jobCount: Int { jobs.load(ordering: .relaxed) }
    private let jobs = Atomic<Int>(0)

    /// How long an idle worker spins before it blocks.
    static let spinNanoseconds: UInt64 = 50_000

    init(threadCount: Int) {
        precondition(threadCount >= 1)
        self.threadCount = threadCount
        state = State(participants: threadCount)
        for participant in 1..<threadCount {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(WorkerStart(state: state, participant: participant)).toOpaque()
            let created = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.state.workerLoop(participant: start.participant)
                return nil
            }, context)
            guard created == 0 else {
                Unmanaged<WorkerStart>.fromOpaque(context).release()
                break
            }
            threads.append(thread)
        }
    }

    deinit {
        state.shutDown()
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Runs `body(0) ... body(count − 1)`, spread over the caller and the workers, and returns
    /// when all have finished. Tasks must be independent; their order is unspecified.
    func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1, !threads.isEmpty, state.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for task in 0..<count { body(task) }
            return
        }
        defer { state.busy.store(false, ordering: .releasing) }
        jobs.add(1, ordering: .relaxed)
        withoutActuallyEscaping(body) { body in
            state.run(count: count, body)
        }
    }

    /// What a new worker thread needs: the shared state and which share of each job is its own.
    private final class WorkerStart {
        let state: State
        let participant: Int
        init(state: State, participant: Int) {
            self.state = state
            self.participant = participant
        }
    }

    /// One thread's share of a job: the unclaimed tasks `front ..< back`, packed as
    /// `front << 32 | back`. The owner claims from the front, others take from the back.
    final class Share: Sendable {
        let unclaimed = Atomic<Int>(0)

        func claim(fromFront: Bool) -> Int? {
            var packed = unclaimed.load(ordering: .relaxed)
            while true {
                let front = packed >> 32, back = packed & 0xFFFF_FFFF
                guard front < back else { return nil }
                let next = fromFront ? (front + 1) << 32 | back : front << 32 | (back - 1)
                let (exchanged, original) = unclaimed.compareExchange(expected: packed, desired: next, ordering: .relaxed)
                if exchanged { return fromFront ? front : back - 1 }
                packed = original
            }
        }
    }

    /// Job hand-off shared by the caller and the workers.
    ///
    /// `generation` is even while no job is open and odd while one is. A worker that sees an
    /// odd generation registers in `inJob` and then re-reads the generation; the caller closes
    /// a job (makes the generation even) before it waits for `inJob` to drain. With both sides
    /// sequentially consistent, a worker either sees the close and leaves without touching the
    /// job, or is counted, so the caller never rewrites `body` under a worker's feet.
    final class State: @unchecked Sendable {
        let busy = Atomic<Bool>(false)
        private let generation = Atomic<Int>(0)
        private let inJob = Atomic<Int>(0)
        /// One share of every job per participant: the caller's first, then each worker's.
        private let shares: [Share]
        private let finished = Atomic<Int>(0)
        private let stopping = Atomic<Bool>(false)
        private var body: ((Int) -> Void)?
        private var mutex = pthread_mutex_t()
        private var condition = pthread_cond_t()

        init(participants: Int) {
            shares = (0..<participants).map { _ in Share() }
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&condition, nil)
        }

        deinit {
            pthread_cond_destroy(&condition)
            pthread_mutex_destroy(&mutex)
        }

        func run(count: Int, _ work: @escaping (Int) -> Void) {
            precondition(count < 1 << 31)
            body = work
            let parts = shares.count
            for (i, share) in shares.enumerated() {
                share.unclaimed.store((i * count / parts) << 32 | ((i + 1) * count / parts), ordering: .relaxed)
            }
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)   // open (odd)
            // Under the mutex, so a worker checking the generation before it sleeps cannot miss it.
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&condition)
            pthread_mutex_unlock(&mutex)

            drain(work, participant: 0)
            var spins = 0
            while finished.load(ordering: .acquiring) < count { Self.backOff(&spins) }
            generation.add(1, ordering: .sequentiallyConsistent)   // closed (even)
            while inJob.load(ordering: .sequentiallyConsistent) != 0 { Self.backOff(&spins) }
            body = nil
        }

        /// Runs the tasks of `participant`'s own share from its front, then whatever is left of
        /// the other shares from their backs, until nothing is unclaimed.
        private func drain(_ body: (Int) -> Void, participant: Int) {
            let own = shares[participant]
            while let task = own.claim(fromFront: true) {
                body(task)
                finished.add(1, ordering: .releasing)
            }
            for step in 1..<shares.count {
                let other = shares[(participant + step) % shares.count]
                while let task = other.claim(fromFront: false) {
                    body(task)
                    finished.add(1, ordering: .releasing)
                }
            }
        }

        func workerLoop(participant: Int) {
            var seen = 0
            while true {
                guard let open = waitForJob(after: seen) else { return }
                seen = open
                inJob.add(1, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == open, let body {
                    drain(body, participant: participant)
                }
                inJob.subtract(1, ordering: .sequentiallyConsistent)
            }
        }

        /// Spins, then blocks, until a job newer than `seen` is open; nil when shutting down.
        private func waitForJob(after seen: Int) -> Int? {
            var start: UInt64 = 0
            var spins = 0
            while true {
                if stopping.load(ordering: .relaxed) { return nil }
                let g = generation.load(ordering: .sequentiallyConsistent)
                if g != seen && g & 1 == 1 { return g }
                spins += 1
                if spins & 255 != 0 { continue }
                // Give the core back now and then: the caller may be our SMT sibling.
                sched_yield()
                let now = SchedulerLock.now()
                if start == 0 { start = now; continue }
                if now - start < IntraOpPool.spinNanoseconds { continue }
                pthread_mutex_lock(&mutex)
                while !stopping.load(ordering: .relaxed) {
                    let g = generation.load(ordering: .sequentiallyConsistent)
                    if g != seen && g & 1 == 1 { break }
                    pthread_cond_wait(&condition, &mutex)
                }
                pthread_mutex_unlock(&mutex)
                start = 0
            }
        }

        func shutDown() {
            stopping.store(true, ordering: .sequentiallyConsistent)
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&condition)
            pthread_mutex_unlock(&mutex)
        }

        /// Spins, yielding the core now and then: on an oversubscribed machine the thread we
        /// wait for may need it.
        @inline(__always)
        private static func backOff(_ spins: inout Int) {
            spins += 1
            if spins & 1023 == 0 { sched_yield() }
        }
    }
}

extension IntraOpPool {
    /// Contiguous chunks per thread that ``forEachChunk(of:on:worthSplitting:_:)`` cuts a job
    /// into: a worker that starts late still has its share's first chunks to do when the caller
    /// has taken the rest, rather than half the job that the caller would then wait for.
    static let chunksPerThread = 4

    /// Runs `body` over `0..<count` in contiguous ranges spread over the threads of `pool` when
    /// `worthSplitting` and there is a pool of several threads and more than one item;
    /// otherwise once over the whole range on the caller. The caller's share is the front of
    /// the range (see ``IntraOpPool``).
    static func forEachChunk(of count: Int, on pool: IntraOpPool?, worthSplitting: Bool, _ body: (Range<Int>) -> Void) {
        guard let pool, pool.threadCount > 1, count > 1, worthSplitting else {
            body(0..<count)
            return
        }
        let tasks = Swift.min(count, pool.threadCount * chunksPerThread)
        let per = (count + tasks - 1) / tasks
        pool.parallelFor(tasks) { task in
            let lo = task * per
            if lo < count { body(lo..<Swift.min(count, lo + per)) }
        }
    }
}

extension IntraOpPool {
    /// Elements from which an elementwise pass (Relu, Clip, LeakyRelu, ...) splits over the pool.
    ///
    /// Below it the hand-off costs about what the pass does. Above it the pass also keeps each
    /// part of the tensor on the core that wrote it: after a Conv that ran on two threads, a
    /// single-threaded activation read half its input from the other core's cache (cnn2d at
    /// batch 64: Relu 11 µs on one thread, 34 µs after a two-thread Conv).
    static let elementwiseParallelCount = 1 << 15

    /// Runs `body` over `0..<count` elements in contiguous ranges of whole 16-element blocks
    /// (so no two threads write one cache line of a 4- or 8-byte type) spread over `pool` when
    /// `count` reaches ``elementwiseParallelCount``; otherwise once over the whole range.
    static func forEachElementChunk(of count: Int, on pool: IntraOpPool?, _ body: (Range<Int>) -> Void) {
        guard count >= elementwiseParallelCount, let pool, pool.threadCount > 1 else {
            body(0..<count)
            return
        }
        let lines = (count + 15) / 16
        forEachChunk(of: lines, on: pool, worthSplitting: true) { range in
            body(range.lowerBound * 16 ..< Swift.min(count, range.upperBound * 16))
        }
    }
}
