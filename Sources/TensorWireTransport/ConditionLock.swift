#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with one condition variable whose timed waits use the monotonic clock.
///
/// Deadlines are monotonic instants (``MonotonicClock``); a wall-clock condition wait would
/// misbehave when NTP steps the clock, so this wraps pthreads directly. pthreads rather than
/// `Synchronization.Mutex` also keep ThreadSanitizer able to check the code that uses it.
public final class ConditionLock: @unchecked Sendable {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = MonotonicCondition()

    public init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }
    public func signal() { condition.signal() }
    public func broadcast() { condition.broadcast() }

    /// Waits (lock held) until signalled or until `deadline` (monotonic nanoseconds) passes.
    public func wait(untilNanoseconds deadline: UInt64?) {
        condition.wait(on: self, untilNanoseconds: deadline)
    }

    @inline(__always)
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable on the monotonic clock, waited on with a ``ConditionLock``'s mutex.
///
/// Besides the lock's own, a thread can have one of its own: the client gives each blocked
/// caller one, so that a response wakes exactly the thread it is for; a shared condition would
/// wake every parked caller on every response (64 threads on 2 cores made the client, not the
/// server, the bottleneck).
public final class MonotonicCondition: @unchecked Sendable {
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits (holding `lock`) until signalled or until `deadline` (monotonic ns) passes.
    public func wait(on lock: ConditionLock, untilNanoseconds deadline: UInt64?) {
        guard let deadline else {
            pthread_cond_wait(condition, lock.mutex)
            return
        }
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = pthread_cond_timedwait(condition, lock.mutex, &time)
    }
}
