/*
 * evloop.c: epoll event loop. Owns the epoll fd, the fd table (indexed by fd,
 * with a generation number so an event for a closed-and-reused fd number in
 * the same epoll_wait batch is dropped) and the timer list. Does not own the
 * watched fds: callers open and close them.
 *
 * Timers are a binary min-heap by deadline; cancel marks an entry dead (lazy
 * deletion) so cancel stays O(log n) amortised without an index.
 */
#include "common/evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "mamori/err.h"

#define EVLOOP_BATCH 64

struct evfd {
    evloop_fd_fn fn;
    void *ctx;
    uint32_t gen;
    bool used;
};

struct evtimer {
    int64_t when;
    uint64_t id;
    evloop_timer_fn fn;
    void *ctx;
};

struct evloop {
    int ep;
    struct evfd *fds; /* EVLOOP_MAX_FDS entries, allocated lazily up to nfds */
    size_t nfds;
    struct evtimer *heap;
    size_t nheap, capheap;
    uint64_t *dead; /* cancelled ids still in the heap */
    size_t ndead, capdead;
    uint64_t next_id;
    uint32_t gen;
    bool stop;
};

int64_t evloop_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t evloop_now_ms(void)
{
    return evloop_now_us() / 1000;
}

int evloop_new(struct evloop **ret)
{
    struct evloop *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return MAMORI_ERR_NOMEM;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        free(l);
        return MAMORI_ERR_SYS;
    }
    l->next_id = 1;
    *ret = l;
    return 0;
}

void evloop_free(struct evloop *l)
{
    if (l == NULL)
        return;
    if (l->ep >= 0)
        close(l->ep);
    free(l->fds);
    free(l->heap);
    free(l->dead);
    free(l);
}

static uint32_t to_epoll(uint32_t ev)
{
    uint32_t e = 0;
    if (ev & EVLOOP_READ)
        e |= EPOLLIN | EPOLLRDHUP;
    if (ev & EVLOOP_WRITE)
        e |= EPOLLOUT;
    return e;
}

static int grow_fds(struct evloop *l, int fd)
{
    size_t want;
    struct evfd *n;
    if ((size_t)fd < l->nfds)
        return 0;
    want = l->nfds ? l->nfds : 64;
    while (want <= (size_t)fd)
        want *= 2;
    if (want > EVLOOP_MAX_FDS)
        want = EVLOOP_MAX_FDS;
    n = realloc(l->fds, want * sizeof(*n));
    if (n == NULL)
        return MAMORI_ERR_NOMEM;
    memset(n + l->nfds, 0, (want - l->nfds) * sizeof(*n));
    l->fds = n;
    l->nfds = want;
    return 0;
}

int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_fd_fn fn, void *ctx)
{
    struct epoll_event ee;
    int r;
    if (fd < 0 || fn == NULL)
        return MAMORI_ERR_INVAL;
    if (fd >= EVLOOP_MAX_FDS)
        return MAMORI_ERR_TOOBIG;
    if ((r = grow_fds(l, fd)) != 0)
        return r;
    if (l->fds[fd].used)
        return MAMORI_ERR_EXISTS;
    memset(&ee, 0, sizeof(ee));
    ee.events = to_epoll(events);
    l->gen++;
    ee.data.u64 = ((uint64_t)l->gen << 32) | (uint32_t)fd;
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ee) != 0)
        return MAMORI_ERR_SYS;
    l->fds[fd] = (struct evfd){.fn = fn, .ctx = ctx, .gen = l->gen, .used = true};
    return 0;
}

int evloop_mod_fd(struct evloop *l, int fd, uint32_t events)
{
    struct epoll_event ee;
    if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
        return MAMORI_ERR_NOTFOUND;
    memset(&ee, 0, sizeof(ee));
    ee.events = to_epoll(events);
    ee.data.u64 = ((uint64_t)l->fds[fd].gen << 32) | (uint32_t)fd;
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ee) != 0)
        return MAMORI_ERR_SYS;
    return 0;
}

void evloop_del_fd(struct evloop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
        return;
    (void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
    l->fds[fd].used = false;
    l->fds[fd].fn = NULL;
}

/* --- timer heap --- */

static void heap_swap(struct evtimer *a, struct evtimer *b)
{
    struct evtimer t = *a;
    *a = *b;
    *b = t;
}

static bool earlier(const struct evtimer *a, const struct evtimer *b)
{
    return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void heap_up(struct evloop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(&l->heap[i], &l->heap[p]))
            break;
        heap_swap(&l->heap[i], &l->heap[p]);
        i = p;
    }
}

static void heap_down(struct evloop *l, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1, m = i;
        if (c < l->nheap && earlier(&l->heap[c], &l->heap[m]))
            m = c;
        if (c + 1 < l->nheap && earlier(&l->heap[c + 1], &l->heap[m]))
            m = c + 1;
        if (m == i)
            break;
        heap_swap(&l->heap[i], &l->heap[m]);
        i = m;
    }
}

static void heap_pop(struct evloop *l)
{
    l->heap[0] = l->heap[--l->nheap];
    if (l->nheap > 0)
        heap_down(l, 0);
}

static bool take_dead(struct evloop *l, uint64_t id)
{
    for (size_t i = 0; i < l->ndead; i++)
        if (l->dead[i] == id) {
            l->dead[i] = l->dead[--l->ndead];
            return true;
        }
    return false;
}

int evloop_timer(struct evloop *l, int64_t delay_ms, evloop_timer_fn fn, void *ctx,
                 uint64_t *ret_id)
{
    if (fn == NULL || delay_ms < 0)
        return MAMORI_ERR_INVAL;
    if (l->nheap >= EVLOOP_MAX_TIMERS)
        return MAMORI_ERR_LIMIT;
    if (l->nheap == l->capheap) {
        size_t nc = l->capheap ? l->capheap * 2 : 16;
        struct evtimer *n = realloc(l->heap, nc * sizeof(*n));
        if (n == NULL)
            return MAMORI_ERR_NOMEM;
        l->heap = n;
        l->capheap = nc;
    }
    uint64_t id = l->next_id++;
    l->heap[l->nheap] =
        (struct evtimer){.when = evloop_now_ms() + delay_ms, .id = id, .fn = fn, .ctx = ctx};
    l->nheap++;
    heap_up(l, l->nheap - 1);
    if (ret_id != NULL)
        *ret_id = id;
    return 0;
}

void evloop_timer_cancel(struct evloop *l, uint64_t id)
{
    bool pending = false;
    if (id == 0)
        return;
    for (size_t i = 0; i < l->nheap; i++)
        if (l->heap[i].id == id) {
            pending = true;
            break;
        }
    if (!pending)
        return;
    if (l->ndead == l->capdead) {
        size_t nc = l->capdead ? l->capdead * 2 : 16;
        uint64_t *n = realloc(l->dead, nc * sizeof(*n));
        if (n == NULL) {
            /* Out of memory: remove it eagerly instead (O(n)). */
            for (size_t i = 0; i < l->nheap; i++)
                if (l->heap[i].id == id) {
                    l->heap[i] = l->heap[--l->nheap];
                    for (size_t j = l->nheap / 2 + 1; j-- > 0;)
                        heap_down(l, j);
                    break;
                }
            return;
        }
        l->dead = n;
        l->capdead = nc;
    }
    l->dead[l->ndead++] = id;
}

/* Drop cancelled timers from the top so the next deadline is real. */
static void heap_clean_top(struct evloop *l)
{
    while (l->nheap > 0 && l->ndead > 0 && take_dead(l, l->heap[0].id))
        heap_pop(l);
}

static int run_timers(struct evloop *l)
{
    int n = 0;
    int64_t now = evloop_now_ms();
    /* Fire only timers due now; a timer re-armed with delay 0 waits a round. */
    uint64_t limit_id = l->next_id;
    for (;;) {
        struct evtimer t;
        heap_clean_top(l);
        if (l->nheap == 0 || l->heap[0].when > now || l->heap[0].id >= limit_id)
            break;
        t = l->heap[0];
        heap_pop(l);
        t.fn(l, t.ctx);
        n++;
    }
    return n;
}

static int next_timeout(struct evloop *l, int timeout_ms)
{
    int64_t d;
    heap_clean_top(l);
    if (l->nheap == 0)
        return timeout_ms;
    d = l->heap[0].when - evloop_now_ms();
    if (d < 0)
        d = 0;
    if (timeout_ms >= 0 && d > timeout_ms)
        return timeout_ms;
    return d > 3600000 ? 3600000 : (int)d;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
    struct epoll_event evs[EVLOOP_BATCH];
    int n, ran = 0;
    n = epoll_wait(l->ep, evs, EVLOOP_BATCH, next_timeout(l, timeout_ms));
    if (n < 0) {
        if (errno != EINTR)
            return MAMORI_ERR_SYS;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)evs[i].data.u64;
        uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
        uint32_t e = 0;
        struct evfd *f;
        if ((size_t)fd >= l->nfds)
            continue;
        f = &l->fds[fd];
        if (!f->used || f->gen != gen)
            continue; /* removed (or fd reused) earlier in this batch */
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
            e |= EVLOOP_READ;
        if (evs[i].events & EPOLLOUT)
            e |= EVLOOP_WRITE;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            e |= EVLOOP_ERROR | EVLOOP_READ;
        f->fn(l, fd, e, f->ctx);
        ran++;
    }
    ran += run_timers(l);
    return ran;
}

int evloop_run(struct evloop *l)
{
    l->stop = false;
    while (!l->stop) {
        int r = evloop_run_once(l, -1);
        if (r < 0)
            return r;
    }
    return 0;
}

void evloop_stop(struct evloop *l)
{
    l->stop = true;
}

bool evloop_stopped(const struct evloop *l)
{
    return l->stop;
}

/* ------------------------------------------------------- daemon stopping */

static void on_stop_signal(struct evloop *l, int fd, uint32_t ev, void *ctx)
{
    struct signalfd_siginfo si;
    (void)ev;
    (void)ctx;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        evloop_stop(l);
}

static void on_stop_deadline(struct evloop *l, void *ctx)
{
    (void)ctx;
    evloop_stop(l);
}

int evloop_stop_on_signals(struct evloop *l, int *ret_fd)
{
    sigset_t mask;
    int fd;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
        return MAMORI_ERR_SYS;
    signal(SIGPIPE, SIG_IGN);
    if ((fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        return MAMORI_ERR_SYS;
    if (evloop_add_fd(l, fd, EVLOOP_READ, on_stop_signal, NULL) != 0) {
        close(fd);
        return MAMORI_ERR_SYS;
    }
    *ret_fd = fd;
    return 0;
}

void evloop_signals_close(struct evloop *l, int fd)
{
    if (fd < 0)
        return;
    evloop_del_fd(l, fd);
    close(fd);
}

void evloop_stop_after(struct evloop *l, long seconds)
{
    if (seconds > 0)
        (void)evloop_timer(l, (int64_t)seconds * 1000, on_stop_deadline, NULL, NULL);
}
