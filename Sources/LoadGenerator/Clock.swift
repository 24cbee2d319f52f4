#if canImport(Glibc)
import Glibc
#endif

/// Nanosecond clocks and precise waits.
///
/// Everything the load generator times goes through `CLOCK_MONOTONIC` in nanoseconds: the
/// schedule, send and completion instants all come from the same clock, so differences are
/// exact and immune to wall-clock steps.
public enum Clock {
    /// Monotonic time in nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// CPU time used by the whole process (all threads), in nanoseconds.
    public static func processCPUTime() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Number of CPUs online.
    public static var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// How close to the target instant ``sleep(until:)`` stops sleeping and starts spinning.
    /// The kernel wakes a sleeping thread tens of microseconds late (50 us of default timer
    /// slack plus the scheduler); spinning the last stretch keeps sends within a few microseconds of their
    /// intended instant without burning a core between sends.
    static let spinMargin: UInt64 = 100_000

    /// Waits until `instant` (monotonic ns): sleeps with an absolute-time `clock_nanosleep`
    /// (no drift from repeated relative sleeps) to within ``spinMargin``, then spins.
    public static func sleep(until instant: UInt64) {
        var current = now()
        if instant > current + spinMargin {
            let wake = instant - spinMargin
            var target = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
            current = now()
        }
        while current < instant { current = now() }
    }
}
