#ifndef TENSORWIRE_ALLOCATION_COUNTER_H
#define TENSORWIRE_ALLOCATION_COUNTER_H

/// Counts heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign)
/// made by every thread of the process while counting is on. The probe executable links this
/// file, which replaces glibc's allocator entry points with forwarding wrappers; nothing else
/// in the project links it.

/// 1 when this build counts (not under a sanitizer, which owns malloc itself), else 0.
int tw_allocation_counting_available(void);
/// Zeroes the count and starts counting.
void tw_allocation_counting_start(void);
/// Stops counting and returns the number of allocations since the start.
long tw_allocation_counting_stop(void);

#endif
