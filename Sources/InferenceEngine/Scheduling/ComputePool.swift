#if canImport(Glibc)
import Glibc
#endif

/// The compute threads shared by every model's ``BatchScheduler``, sized to the cores.
///
/// Workers take the next ready batch from any registered scheduler (round-robin across models),
/// run it, and hand each request its outputs. One lock guards the pool and all scheduler
/// queues: a worker has to look at every queue anyway, and a single lock keeps "which batch
/// is ready" consistent without lock ordering.
public final class ComputePool: @unchecked Sendable {
    let lock = SchedulerLock()
    private var schedulers: [BatchScheduler] = []
    private var nextScheduler = 0
    private var stopped = false
    private var threads: [pthread_t] = []
    private let busyPoll: Bool

    /// Number of worker threads.
    public let threadCount: Int

    /// - Parameters:
    ///   - threadCount: workers; the number of cores unless they are shared with other work.
    ///   - busyPoll: workers spin looking for work instead of sleeping, saving the wake-up
    ///     (~25 us on these VMs) at the cost of a busy core each. For dedicated cores.
    ///   - pinThreads: pin worker `i` to core `i % cores`, so caches stay warm.
    public init(threadCount: Int = ComputePool.coreCount, busyPoll: Bool = false, pinThreads: Bool = false) {
        self.threadCount = max(1, threadCount)
        self.busyPoll = busyPoll
        for index in 0..<self.threadCount {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index, pin: pinThreads)).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.run()
                return nil
            }, context)
            if created == 0 {
                threads.append(thread)
            } else {
                Unmanaged<WorkerContext>.fromOpaque(context).release()
            }
        }
    }

    /// Cores available to this process.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Stops the workers after their current batch; queued requests fail with `.shutDown`.
    public func shutdown() {
        lock.lock()
        guard !stopped else { return lock.unlock() }
        stopped = true
        let abandoned = schedulers.flatMap { $0.drainQueue() }
        lock.broadcast()
        lock.unlock()
        for request in abandoned { request.completion(.failure(.shutDown)) }
        for thread in threads { pthread_join(thread, nil) }
    }

    func register(_ scheduler: BatchScheduler) {
        lock.lock()
        schedulers.append(scheduler)
        lock.unlock()
    }

    /// Wakes one worker (lock held): a request was queued or an instance freed.
    func wakeWorker() {
        if !busyPoll { lock.signal() }
    }

    private final class WorkerContext {
        let pool: ComputePool
        let index: Int
        let pin: Bool
        init(pool: ComputePool, index: Int, pin: Bool) {
            self.pool = pool
            self.index = index
            self.pin = pin
        }
        func run() {
            if pin { ComputePool.pinCurrentThread(to: index % ComputePool.coreCount) }
            pool.workerLoop()
        }
    }

    private func workerLoop() {
        lock.lock()
        while !stopped {
            let now = SchedulerLock.now()
            var wakeAt: UInt64 = .max
            var batch: Batch?
            var expired: [ScheduledRequest] = []
            for offset in 0..<schedulers.count where batch == nil {
                let scheduler = schedulers[(nextScheduler + offset) % schedulers.count]
                switch scheduler.nextBatch(now: now, expired: &expired) {
                case .ready(let ready):
                    batch = ready
                    nextScheduler = (nextScheduler + offset + 1) % schedulers.count
                case .wait(let until):
                    wakeAt = min(wakeAt, until)
                case .idle:
                    break
                }
            }
            if batch != nil || !expired.isEmpty {
                lock.unlock()
                for request in expired { request.completion(.failure(.deadlineExceeded)) }
                if let batch { batch.scheduler.execute(batch) }
                lock.lock()
                continue
            }
            if busyPoll {
                lock.unlock()
                sched_yield()
                lock.lock()
            } else {
                lock.wait(untilNanoseconds: wakeAt == .max ? nil : wakeAt)
            }
        }
        lock.unlock()
    }

    static func pinCurrentThread(to core: Int) {
        var set = cpu_set_t()
        withUnsafeMutableBytes(of: &set) { bytes in
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            let word = core / 64
            guard word < bytes.count / 8 else { return }
            bytes.storeBytes(of: UInt64(1) << UInt64(core % 64), toByteOffset: word * 8, as: UInt64.self)
        }
        // glibc declares sched_setaffinity only under _GNU_SOURCE, so Swift cannot see it;
        // look it up instead of adding a C dependency to the engine.
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity") else { return }
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        _ = withUnsafeBytes(of: &set) { setAffinity(0, $0.count, $0.baseAddress!) }
    }
}

/// Requests of one model taken from its queue to run as one execution.
struct Batch {
    let scheduler: BatchScheduler
    let requests: [ScheduledRequest]
    let rows: Int
}
