/*
 * evloop: a small epoll event loop (after Redis's ae.c): fd readiness
 * callbacks, one-shot timers with millisecond resolution, run/stop.
 * All state lives in struct evloop; there are no globals, so a process may
 * run several loops (e.g. tests running a terminal and a device side by side).
 *
 *     evloop_new(&l);
 *     evloop_add_fd(l, fd, EVLOOP_READ, on_read, ctx);
 *     evloop_timer(l, 2000, on_tick, ctx, &id);
 *     evloop_run(l);          // until evloop_stop(l) from a callback
 *
 * Callbacks may add, modify and remove fds and timers (including their own).
 */
#ifndef MAMORI_EVLOOP_H
#define MAMORI_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#define EVLOOP_MAX_FDS    4096 /* highest fd number + 1 the loop accepts */
#define EVLOOP_MAX_TIMERS 8192 /* pending timers at once */

#define EVLOOP_READ  0x1u
#define EVLOOP_WRITE 0x4u
#define EVLOOP_ERROR 0x8u /* reported only: hang-up or error on the fd */

struct evloop;

/* fd is ready for events (EVLOOP_* bits). */
typedef void (*evloop_fd_fn)(struct evloop *l, int fd, uint32_t events, void *ctx);
/* A timer fired (it is already removed; re-arm for periodic work). */
typedef void (*evloop_timer_fn)(struct evloop *l, void *ctx);

int evloop_new(struct evloop **ret);
/* Free the loop (fds are not closed); NULL-safe. */
void evloop_free(struct evloop *l);

/* Watch fd for events. MAMORI_ERR_EXISTS if already watched, MAMORI_ERR_TOOBIG
 * when fd >= EVLOOP_MAX_FDS, MAMORI_ERR_SYS when epoll refuses. */
int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_fd_fn fn, void *ctx);
/* Change the watched events of fd. */
int evloop_mod_fd(struct evloop *l, int fd, uint32_t events);
/* Stop watching fd (call before close). Unknown fds are ignored. */
void evloop_del_fd(struct evloop *l, int fd);

/* One-shot timer after delay_ms (>= 0). *ret_id (optional) names it for cancel;
 * ids are never 0. MAMORI_ERR_LIMIT when EVLOOP_MAX_TIMERS are pending. */
int evloop_timer(struct evloop *l, int64_t delay_ms, evloop_timer_fn fn, void *ctx,
                 uint64_t *ret_id);
/* Cancel a pending timer; unknown or fired ids (and 0) are ignored. */
void evloop_timer_cancel(struct evloop *l, uint64_t id);

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
int64_t evloop_now_ms(void);
/* Same in microseconds (for benchmarks and latency stamps). */
int64_t evloop_now_us(void);

/* Wait at most timeout_ms (-1: until something happens) and dispatch once.
 * Returns the number of callbacks run, or MAMORI_ERR_SYS. */
int evloop_run_once(struct evloop *l, int timeout_ms);
/* Dispatch until evloop_stop(). 0, or MAMORI_ERR_SYS. */
int evloop_run(struct evloop *l);
/* Make evloop_run return after the current dispatch round. */
void evloop_stop(struct evloop *l);
bool evloop_stopped(const struct evloop *l);

/* For daemons: stop l on SIGTERM or SIGINT (both blocked for the process and
 * read through a signalfd watched by l; SIGPIPE ignored). 0 and *ret_fd (give
 * it to evloop_signals_close), or MAMORI_ERR_SYS. */
int evloop_stop_on_signals(struct evloop *l, int *ret_fd);
void evloop_signals_close(struct evloop *l, int fd);
/* Stop l after seconds (nothing when seconds <= 0): --max-runtime. */
void evloop_stop_after(struct evloop *l, long seconds);

#endif
