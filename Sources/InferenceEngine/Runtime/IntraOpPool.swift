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
        state = State()
        for _ in 1..<threadCount {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(state).toOpaque()
            let created = pthread_create(&thread, nil, { raw in
                let state = Unmanaged<State>.fromOpaque(raw!).takeRetainedValue()
                state.workerLoop()
                return nil
            }, context)
            guard created == 0 else {
                Unmanaged<State>.fromOpaque(context).release()
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
        private let nextTask = Atomic<Int>(0)
        private let finished = Atomic<Int>(0)
        private let stopping = Atomic<Bool>(false)
        private var body: ((Int) -> Void)?
        private var taskCount = 0
        private var mutex = pthread_mutex_t()
        private var condition = pthread_cond_t()

        init() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&condition, nil)
        }

        deinit {
            pthread_cond_destroy(&condition)
            pthread_mutex_destroy(&mutex)
        }

        func run(count: Int, _ work: @escaping (Int) -> Void) {
            body = work
            taskCount = count
            nextTask.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)   // open (odd)
            // Under the mutex, so a worker checking the generation before it sleeps cannot miss it.
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&condition)
            pthread_mutex_unlock(&mutex)

            drain(work, count: count)
            var spins = 0
            while finished.load(ordering: .acquiring) < count { Self.backOff(&spins) }
            generation.add(1, ordering: .sequentiallyConsistent)   // closed (even)
            while inJob.load(ordering: .sequentiallyConsistent) != 0 { Self.backOff(&spins) }
            body = nil
        }

        private func drain(_ body: (Int) -> Void, count: Int) {
            while true {
                let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
                guard task < count else { return }
                body(task)
                finished.add(1, ordering: .releasing)
            }
        }

        func workerLoop() {
            var seen = 0
            while true {
                guard let open = waitForJob(after: seen) else { return }
                seen = open
                inJob.add(1, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == open, let body {
                    drain(body, count: taskCount)
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
                let now = Self.nanoseconds()
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

        private static func nanoseconds() -> UInt64 {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        }
    }
}

extension IntraOpPool {
    /// Runs `body` over `0..<count` as one contiguous range per thread of `pool` when
    /// `worthSplitting` and there is a pool of several threads and more than one item;
    /// otherwise once over the whole range on the caller.
    static func forEachChunk(of count: Int, on pool: IntraOpPool?, worthSplitting: Bool, _ body: (Range<Int>) -> Void) {
        guard let pool, pool.threadCount > 1, count > 1, worthSplitting else {
            body(0..<count)
            return
        }
        let tasks = Swift.min(count, pool.threadCount)
        let per = (count + tasks - 1) / tasks
        pool.parallelFor(tasks) { task in
            let lo = task * per
            if lo < count { body(lo..<Swift.min(count, lo + per)) }
        }
    }
}
