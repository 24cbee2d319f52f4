#include "allocation_counter.h"

#include <execinfo.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__has_feature)
#  if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#    define TW_SANITIZED 1
#  endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#  define TW_SANITIZED 1
#endif

static atomic_int counting;
static atomic_long allocations;
/// TW_ALLOCATION_TRACE=1 prints the stack of every counted allocation to stderr (to find them).
static int tracing = -1;
static __thread int inTrace;

int tw_allocation_counting_available(void) {
#if defined(__linux__) && !defined(TW_SANITIZED)
    return 1;
#else
    return 0;
#endif
}

void tw_allocation_counting_start(void) {
    if (tracing < 0) tracing = getenv("TW_ALLOCATION_TRACE") != NULL;
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
}

long tw_allocation_counting_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

#if defined(__linux__) && !defined(TW_SANITIZED)
// glibc documents replacing malloc by defining these symbols in the executable; the real
// allocator stays reachable through its __libc_ aliases.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static void trace(void) {
    void *frames[24];
    inTrace = 1;
    int n = backtrace(frames, 24);
    write(2, "--- allocation\n", 15);
    backtrace_symbols_fd(frames, n, 2);
    inTrace = 0;
}

static inline void count(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed) && !inTrace) {
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
        if (tracing > 0) trace();
    }
}

void *malloc(size_t size) { count(); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { count(); return __libc_calloc(n, size); }
void *realloc(void *pointer, size_t size) { count(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    count();
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return 22; // EINVAL
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return 12; // ENOMEM
    *out = pointer;
    return 0;
}
#endif
