#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds: deadlines and latencies are measured on this clock, which
/// wall-clock steps (NTP) cannot move.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (CLOCK_MONOTONIC).
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// The instant `duration` from now, saturating instead of overflowing for huge durations.
    public static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return nanoseconds() }
        let span = seconds > Int64(UInt64.max / 4_000_000_000)
            ? UInt64.max / 2
            : UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        let (sum, overflow) = nanoseconds().addingReportingOverflow(span)
        return overflow ? UInt64.max : sum
    }
}
