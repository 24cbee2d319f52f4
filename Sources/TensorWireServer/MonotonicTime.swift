#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds: request deadlines are measured on this clock, immune to wall-clock steps.
enum MonotonicTime {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
