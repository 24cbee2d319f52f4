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
    /// With the timer slack at 1 ns (``tightenTimerSlack()``) the kernel wakes a sleeping thread
    /// some 5-20 us late; spinning the last stretch keeps sends within a few microseconds of
    /// their intended instant without burning a core between sends (at most this much CPU per
    /// send).
    public static let spinMargin: UInt64 = 30_000

    /// Sets the calling thread's timer slack to 1 ns (`prctl(PR_SET_TIMERSLACK)`): the default
    /// 50 us lets the kernel wake sleepers up to 50 us late, which would become late sends.
    /// `prctl` is looked up dynamically because Swift's Glibc module does not export it.
    static func tightenTimerSlack() {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        _ = prctl(29 /* PR_SET_TIMERSLACK */, 1, 0, 0, 0)
    }

    /// Waits until `instant` (monotonic ns): sleeps with an absolute-time `clock_nanosleep`
    /// (no drift from repeated relative sleeps) to within `spinMargin`, then spins.
    public static func sleep(until instant: UInt64, spinMargin: UInt64 = Clock.spinMargin) {
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
