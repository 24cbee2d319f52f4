#ifndef TENSORWIRE_CLINUXSHIMS_H
#define TENSORWIRE_CLINUXSHIMS_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <stdint.h>
#include <stddef.h>

// epoll_event is packed on x86_64, which Swift imports awkwardly; these wrappers keep the
// packed struct on the C side and hand Swift plain arrays.
int tw_epoll_create(void);
int tw_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits like epoll_wait (EINTR reported as 0 events); fills parallel arrays.
int tw_epoll_wait(int epfd, uint32_t *events, uint64_t *datas, int max, int timeout_ms);

int tw_eventfd_create(void);
void tw_eventfd_signal(int fd);
void tw_eventfd_drain(int fd);

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t tw_now_ns(void);

/// Non-blocking listening socket on an IPv4 or IPv6 literal (or "localhost").
/// Returns the fd or -errno; stores the bound port.
int tw_listen(const char *host, int port, int backlog, int *bound_port);
/// accept4 (non-blocking, close-on-exec) + TCP_NODELAY; writes "addr:port" into `addr`.
/// Returns the fd, or -errno (-EAGAIN when nothing is pending).
int tw_accept(int listen_fd, char *addr, size_t addr_cap);
/// Non-blocking TCP connect with a timeout; the returned socket stays non-blocking and has
/// TCP_NODELAY. Returns the fd or -errno (-ETIMEDOUT on timeout).
int tw_connect(const char *host, int port, int timeout_ms);
/// poll() on one fd, retrying EINTR within the timeout. Returns revents, 0 on timeout, -errno.
int tw_poll_one(int fd, short events, int timeout_ms);
/// 1 if the string is an IPv4 or IPv6 literal.
int tw_is_ip_literal(const char *s);
/// OpenSSL writes to sockets with write(2), so a peer that resets the connection raises SIGPIPE,
/// whose default action kills the process. Sets SIGPIPE to SIG_IGN unless the application has
/// installed its own disposition. Idempotent.
void tw_ignore_sigpipe_if_default(void);
#endif
