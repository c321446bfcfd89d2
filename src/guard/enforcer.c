/*
 * enforcer.c: fanotify groups, marks and the allow/deny decision. Owns the
 * order "decide, answer the kernel, then record" and the verdict cache. It
 * must not own anything that can block on the filesystem it guards except
 * reading the very file the kernel handed it (FMODE_NONOTIFY: no events),
 * and must never log: records leave through the bounded gqueue.
 */
#include "guard/enforcer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard/vcache.h"
#include "mamori/err.h"

#define EVENT_BUF 16384
#define ENFORCER_MAX_READS 64 /* event reads per enforcer_handle_perm call */

struct enforcer {
    enum guard_mode mode;
    uint64_t max_hash;
    struct gqueue *q;
    const struct manifest *m; /* borrowed */
    struct vcache *cache;
    pid_t self;
    int perm_fd, notify_fd, integ_fd;
    size_t integ_dirs;
    uint64_t spin_ns;
    struct enforcer_stats st;
};

int enforcer_new(enum guard_mode mode, uint64_t max_hash_bytes, struct gqueue *q, struct enforcer **ret)
{
    struct enforcer *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return MAMORI_ERR_NOMEM;
    int r = vcache_new(ENFORCER_CACHE_ENTRIES, &e->cache);
    if (r) {
        free(e);
        return r;
    }
    e->mode = mode;
    e->max_hash = max_hash_bytes;
    e->q = q;
    e->self = getpid();
    e->perm_fd = e->notify_fd = e->integ_fd = -1;
    *ret = e;
    return 0;
}

void enforcer_free(struct enforcer *e)
{
    if (e == NULL)
        return;
    /* Closing the permission group makes the kernel allow every pending
     * event: the machine is never left waiting on a guard that is gone. */
    if (e->perm_fd >= 0)
        close(e->perm_fd);
    if (e->notify_fd >= 0)
        close(e->notify_fd);
    if (e->integ_fd >= 0)
        close(e->integ_fd);
    vcache_free(e->cache);
    free(e);
}

int enforcer_open(struct enforcer *e)
{
    /* Event fds are opened O_NONBLOCK: the kernel opens the file for us, and
     * a FIFO opened for reading would otherwise wait for a writer (a wedged
     * guard). Regular files ignore the flag.
     * Permission group: unlimited queue, because on overflow the kernel
     * would drop (that is, allow) permission events. Waiting processes bound
     * its length. */
    e->perm_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
                               O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
    if (e->perm_fd < 0)
        return MAMORI_ERR_SYS;
    /* Notification groups: bounded queues; an overflow clears the cache or
     * triggers a full integrity check, so losing events is safe. */
    e->notify_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
    if (e->notify_fd < 0)
        return MAMORI_ERR_SYS;
    e->integ_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
    if (e->integ_fd < 0)
        return MAMORI_ERR_SYS;
    return 0;
}

int enforcer_watch_mount(struct enforcer *e, const char *path, bool allow_system)
{
    char real[PATH_MAX];
    struct statx sx;
    if (realpath(path, real) == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (strcmp(real, "/") == 0 && !allow_system)
        return MAMORI_ERR_REFUSED;
    /* A FAN_MARK_MOUNT on a plain directory would mark the whole mount that
     * holds it (perhaps "/"): only mount roots are accepted. */
    if (statx(AT_FDCWD, real, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0)
        return MAMORI_ERR_SYS;
    if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return MAMORI_ERR_REFUSED;
    if (fanotify_mark(e->notify_fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD,
                      real) != 0)
        return MAMORI_ERR_SYS;
    if (fanotify_mark(e->perm_fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM, AT_FDCWD,
                      real) != 0)
        return MAMORI_ERR_SYS;
    return 0;
}

static int integ_mark_tree(struct enforcer *e, const char *dir, int depth)
{
    char p[PATH_MAX];
    int r = 0;
    if (depth > 32)
        return MAMORI_ERR_TOOBIG;
    if (++e->integ_dirs > ENFORCER_MAX_INTEG_DIRS)
        return MAMORI_ERR_TOOBIG;
    if (fanotify_mark(e->integ_fd, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, AT_FDCWD, dir) != 0)
        return MAMORI_ERR_SYS;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int k = snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (k > 0 && (size_t)k < sizeof(p))
            r = integ_mark_tree(e, p, depth + 1);
    }
    closedir(d);
    return r;
}

int enforcer_watch_integrity(struct enforcer *e, const char *path)
{
    char real[PATH_MAX];
    struct stat st;
    if (realpath(path, real) == NULL || lstat(real, &st) != 0)
        return MAMORI_ERR_NOTFOUND;
    if (S_ISDIR(st.st_mode))
        return integ_mark_tree(e, real, 0);
    if (fanotify_mark(e->integ_fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, real) != 0)
        return MAMORI_ERR_SYS;
    return 0;
}

void enforcer_set_manifest(struct enforcer *e, const struct manifest *m)
{
    e->m = m;
    vcache_clear(e->cache); /* verdicts were relative to the old list */
}

void enforcer_set_spin(struct enforcer *e, uint64_t ns)
{
    e->spin_ns = ns;
}

void enforcer_set_mode(struct enforcer *e, enum guard_mode mode)
{
    e->mode = mode;
}

enum guard_mode enforcer_mode(const struct enforcer *e)
{
    return e->mode;
}

int enforcer_perm_fd(const struct enforcer *e)
{
    return e->perm_fd;
}

int enforcer_notify_fd(const struct enforcer *e)
{
    return e->notify_fd;
}

int enforcer_integ_fd(const struct enforcer *e)
{
    return e->integ_fd;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void hist_add(uint64_t *h, uint64_t ns)
{
    int b = 0;
    while (ns > 1 && b < ENFORCER_HIST_BUCKETS - 1) {
        ns >>= 1;
        b++;
    }
    h[b]++;
}

static void key_of(const struct stat *st, struct vcache_key *k)
{
    k->dev = (uint64_t)st->st_dev;
    k->ino = (uint64_t)st->st_ino;
    k->size = (uint64_t)st->st_size;
    k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

bool enforcer_decide(struct enforcer *e, int fd, bool exec, pid_t pid, struct gqueue_rec *rec, bool *ret_record)
{
    struct stat st;
    struct vcache_key k, k2;
    uint64_t t0 = now_ns();
    bool hit = true, allow;
    int err = 0;

    *ret_record = false;
    e->st.decisions++;
    if (pid == e->self) { /* the guard's own reads: never wait on ourselves */
        e->st.self++;
        return true;
    }
    if (fstat(fd, &st) != 0) {
        err = MAMORI_ERR_SYS;
        goto decided;
    }
    if (!S_ISREG(st.st_mode)) {
        allow = true;
        goto done;
    }
    key_of(&st, &k);
    unsigned flags = vcache_get(e->cache, &k);
    if (!exec && !(flags & VCACHE_ELF_KNOWN)) {
        uint8_t magic[4];
        hit = false;
        ssize_t n = pread(fd, magic, sizeof(magic), 0);
        if (n < 0) {
            err = MAMORI_ERR_IO;
            goto decided;
        }
        bool elf = n == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0;
        flags |= VCACHE_ELF_KNOWN | (elf ? VCACHE_IS_ELF : 0u);
        vcache_put(e->cache, &k, flags);
    }
    if (!exec && !(flags & VCACHE_IS_ELF)) {
        allow = true; /* data, config, scripts read by an interpreter */
        goto done;
    }
    if (!(flags & VCACHE_LISTED_KNOWN)) {
        uint64_t size;
        hit = false;
        e->st.hashed++;
        if ((err = manifest_hash_fd(fd, e->max_hash, rec->sha256, &size)) != 0)
            goto decided;
        rec->have_sha = true;
        bool listed = e->m != NULL && manifest_has_hash(e->m, rec->sha256);
        flags |= VCACHE_LISTED_KNOWN | (listed ? VCACHE_LISTED : 0u);
        /* Cache only when the file did not change while it was hashed. */
        if (fstat(fd, &st) == 0 && (key_of(&st, &k2), memcmp(&k, &k2, sizeof(k)) == 0))
            vcache_put(e->cache, &k, flags);
    }
    allow = (flags & VCACHE_LISTED) != 0;
decided:
    if (err != 0) {
        e->st.errors++;
        allow = false;
        hit = false;
    }
    if (!allow) {
        rec->kind = e->mode == GUARD_ENFORCE ? GREC_DENY : GREC_DETECT;
        rec->pid = (int32_t)pid;
        rec->exec = exec;
        rec->reason = err;
        rec->path[0] = '\0';
        *ret_record = true;
        if (e->mode == GUARD_DETECT) {
            e->st.detected++;
            allow = true;
        }
    }
done:
    if (allow)
        e->st.allowed++;
    else
        e->st.denied++;
    uint64_t dt = now_ns() - t0;
    if (hit) {
        e->st.cache_hits++;
        e->st.hit_ns_total += dt;
        hist_add(e->st.hit_hist, dt);
    } else {
        e->st.miss_ns_total += dt;
        hist_add(e->st.miss_hist, dt);
    }
    return allow;
}

static void fd_path(int fd, char *out, size_t n)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, out, n - 1);
    if (k < 0)
        k = 0;
    out[k] = '\0';
}

int enforcer_handle_notify(struct enforcer *e)
{
    _Alignas(struct fanotify_event_metadata) char buf[EVENT_BUF];
    for (;;) {
        ssize_t n = read(e->notify_fd, buf, sizeof(buf));
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : MAMORI_ERR_SYS;
        struct fanotify_event_metadata *md = (struct fanotify_event_metadata *)buf;
        for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
            if (md->mask & FAN_Q_OVERFLOW) {
                vcache_clear(e->cache); /* lost invalidations: forget everything */
            }
            if (md->fd >= 0) {
                struct stat st;
                if (fstat(md->fd, &st) == 0)
                    vcache_invalidate(e->cache, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
                close(md->fd);
            }
        }
    }
}

int enforcer_handle_integ(struct enforcer *e)
{
    _Alignas(struct fanotify_event_metadata) char buf[EVENT_BUF];
    for (;;) {
        ssize_t n = read(e->integ_fd, buf, sizeof(buf));
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : MAMORI_ERR_SYS;
        struct fanotify_event_metadata *md = (struct fanotify_event_metadata *)buf;
        for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
            struct gqueue_rec rec = {.kind = GREC_INTEG_FILE, .pid = md->pid};
            if (md->mask & FAN_Q_OVERFLOW) {
                rec.kind = GREC_INTEG_FULL;
                (void)gqueue_push(e->q, &rec);
            }
            if (md->fd < 0)
                continue;
            if (md->pid != e->self) {
                fd_path(md->fd, rec.path, sizeof(rec.path));
                (void)gqueue_push(e->q, &rec); /* a drop is counted and reported */
            }
            close(md->fd);
        }
    }
}

int enforcer_handle_perm(struct enforcer *e)
{
    _Alignas(struct fanotify_event_metadata) char buf[EVENT_BUF];
    /* Invalidations first: a write that finished before this exec began has
     * its FAN_MODIFY queued already, so no stale verdict can be served. */
    (void)enforcer_handle_notify(e);
    uint64_t spin_until = 0;
    /* Bounded: under a sustained flood the caller still gets back to its
     * signals, notifications and watchdog heartbeat between rounds. */
    for (int reads = 0; reads < ENFORCER_MAX_READS;) {
        ssize_t n = read(e->perm_fd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN && e->spin_ns != 0) {
            /* An exec raises FAN_OPEN_EXEC_PERM then FAN_OPEN_PERM right after
             * our answer: waiting a few microseconds for it awake saves a
             * sleep/wake-up per exec. Bounded by spin_ns per batch. */
            uint64_t t = now_ns();
            if (spin_until == 0)
                spin_until = t + e->spin_ns;
            if (t < spin_until)
                continue;
        }
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : MAMORI_ERR_SYS;
        spin_until = 0;
        reads++;
        struct fanotify_event_metadata *md = (struct fanotify_event_metadata *)buf;
        for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
            if (md->vers != FANOTIFY_METADATA_VERSION)
                return MAMORI_ERR_UNSUPPORTED;
            if (md->fd < 0)
                continue;
            if (!(md->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM))) {
                close(md->fd);
                continue;
            }
            struct gqueue_rec rec;
            bool record;
            rec.have_sha = false;
            bool allow = enforcer_decide(e, md->fd, (md->mask & FAN_OPEN_EXEC_PERM) != 0, md->pid, &rec, &record);
            struct fanotify_response resp = {.fd = md->fd, .response = allow ? FAN_ALLOW : FAN_DENY};
            /* Answer first: nothing below may delay the waiting process. */
            ssize_t w;
            do
                w = write(e->perm_fd, &resp, sizeof(resp));
            while (w < 0 && errno == EINTR);
            if (record) {
                fd_path(md->fd, rec.path, sizeof(rec.path));
                (void)gqueue_push(e->q, &rec); /* never blocks; drops are counted */
            }
            close(md->fd);
        }
    }
    return 0;
}

void enforcer_stats(const struct enforcer *e, struct enforcer_stats *ret)
{
    *ret = e->st;
}
