/*
 * guardd.c: mamori-guard's loop, recorder thread and watchdog. Owns the
 * daemon's life: configuration and manifest (re)loads with their audit
 * events, mode switches, the integrity checks, the alert lines and the stop
 * paths. It must not own the decision (enforcer.c) and must never make the
 * decision thread wait on the audit store: only the recorder writes there
 * while events flow (the startup/reload events are written before marks
 * exist or between event batches).
 */
#include "cmd/guardd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"
#include "guard/enforcer.h"
#include "guard/gqueue.h"
#include "guard/integrity.h"
#include "guard/manifest.h"
#include "mamori/err.h"

/* A manifest shared by the decision thread and the recorder: freed by
 * whoever drops the last reference. */
struct mref {
    struct manifest *m;
    int refs;
};

struct guardd {
    const struct guardd_opts *o;
    struct guardconf conf;
    struct audit *audit;
    pthread_mutex_t audit_mu;  /* the audit API does not promise thread safety */
    pthread_mutex_t mref_mu;
    struct mref *cur;
    struct gqueue *q;
    struct enforcer *enf;
    int alert_fd;
    _Atomic uint64_t inflight_since; /* ns; 0 when no decision is running */
    _Atomic bool stopping;
    uint64_t deadline_ns;          /* 0: none */
};

static const struct audit_actor actor = {.process = "mamori-guard"};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One security event: into the audit trail, then as an alert line. */
static void event(struct guardd *g, enum log_level lvl, const char *ev, const struct field *f)
{
    pthread_mutex_lock(&g->audit_mu);
    int r = audit_record(g->audit, &actor, ev, f);
    pthread_mutex_unlock(&g->audit_mu);
    log_emit(lvl, ev, f);
    if (r != 0 && r != MAMORI_ERR_PERM)
        log_error("guard.audit_failed", F_STR("event", ev), F_STR("error", mamori_strerror(r)));
}
#define EVENT(g, lvl, ev, ...) event((g), (lvl), (ev), ((const struct field[]){__VA_ARGS__, F_END}))

static struct mref *mref_get(struct guardd *g)
{
    pthread_mutex_lock(&g->mref_mu);
    struct mref *r = g->cur;
    if (r)
        r->refs++;
    pthread_mutex_unlock(&g->mref_mu);
    return r;
}

static void mref_put(struct guardd *g, struct mref *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&g->mref_mu);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&g->mref_mu);
    if (last) {
        manifest_free(r->m);
        free(r);
    }
}

/* Load and verify the configured manifest; on success it becomes current.
 * On any failure the old manifest stays in force and the refusal is audited. */
static int load_manifest(struct guardd *g, const char *why)
{
    struct manifest *m = NULL;
    int r = manifest_load(g->conf.manifest, g->conf.pub, &m);
    if (r) {
        EVENT(g, LOG_ERROR, "allowlist.refused", F_STR("path", g->conf.manifest), F_STR("reason", mamori_strerror(r)),
              F_STR("on", why), F_STR("in_force", g->cur ? "previous" : "none"));
        return r;
    }
    struct mref *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        manifest_free(m);
        return MAMORI_ERR_NOMEM;
    }
    n->m = m;
    n->refs = 1;
    pthread_mutex_lock(&g->mref_mu);
    struct mref *old = g->cur;
    g->cur = n;
    pthread_mutex_unlock(&g->mref_mu);
    if (g->enf)
        enforcer_set_manifest(g->enf, m);
    EVENT(g, LOG_INFO, "allowlist.load", F_STR("path", g->conf.manifest), F_INT("entries", manifest_count(m)),
          F_HEX("release_key", g->conf.pub, MANIFEST_PK_LEN), F_STR("on", why));
    mref_put(g, old);
    return 0;
}

struct integ_ctx {
    struct guardd *g;
};

static int integ_cb(void *ctx, enum integrity_kind kind, const char *path)
{
    struct guardd *g = ((struct integ_ctx *)ctx)->g;
    EVENT(g, LOG_WARN, "integrity.changed", F_STR("path", path), F_STR("kind", integrity_kind_name(kind)));
    return 0;
}

static void integrity_full(struct guardd *g)
{
    struct mref *mr = mref_get(g);
    struct integ_ctx c = {g};
    size_t bad = 0;
    if (mr == NULL || g->conf.nintegrity == 0) {
        mref_put(g, mr);
        return;
    }
    uint64_t t0 = mono_ns();
    int r = integrity_check(mr->m, (const char *const *)g->conf.integrity, g->conf.nintegrity, integ_cb, &c, &bad);
    EVENT(g, bad || r ? LOG_WARN : LOG_INFO, "integrity.check", F_INT("differences", bad),
          F_INT("ms", (mono_ns() - t0) / 1000000), F_STR("result", r ? mamori_strerror(r) : "complete"));
    mref_put(g, mr);
}

static void record(struct guardd *g, const struct gqueue_rec *rec)
{
    struct mref *mr;
    enum integrity_kind k;
    switch (rec->kind) {
    case GREC_DENY:
    case GREC_DETECT: {
        const char *ev = rec->kind == GREC_DENY ? "guard.deny" : "guard.detect";
        const char *why = rec->reason ? mamori_strerror(rec->reason) : "unlisted";
        const char *what = rec->exec ? "exec" : "open-elf";
        if (rec->have_sha)
            EVENT(g, LOG_WARN, ev, F_STR("path", rec->path), F_INT("pid", rec->pid), F_STR("access", what),
                  F_STR("reason", why), F_HEX("sha256", rec->sha256, MANIFEST_HASH_LEN));
        else
            EVENT(g, LOG_WARN, ev, F_STR("path", rec->path), F_INT("pid", rec->pid), F_STR("access", what),
                  F_STR("reason", why));
        break;
    }
    case GREC_INTEG_FILE:
        mr = mref_get(g);
        if (mr && integrity_check_path(mr->m, rec->path, &k) == 0 && k != INTEGRITY_OK)
            EVENT(g, LOG_WARN, "integrity.changed", F_STR("path", rec->path), F_STR("kind", integrity_kind_name(k)),
                  F_INT("pid", rec->pid));
        mref_put(g, mr);
        break;
    case GREC_INTEG_FULL:
        integrity_full(g);
        break;
    case GREC_STOP:
        break;
    }
}

static void *recorder_main(void *arg)
{
    struct guardd *g = arg;
    struct gqueue_rec rec;
    for (;;) {
        bool got = gqueue_pop(g->q, 500, &rec);
        if (got && rec.kind == GREC_STOP)
            break;
        if (got)
            record(g, &rec);
        uint64_t dropped = gqueue_take_dropped(g->q);
        if (dropped)
            EVENT(g, LOG_ERROR, "guard.dropped", F_INT("records", dropped));
    }
    return NULL;
}

static void *watchdog_main(void *arg)
{
    struct guardd *g = arg;
    const uint64_t limit = (uint64_t)g->conf.watchdog_sec * 1000000000ull;
    for (;;) {
        sleep(1);
        uint64_t now = mono_ns(), since = atomic_load(&g->inflight_since);
        if (since != 0 && now - since > limit) {
            static const char msg[] = "mamori-guard: watchdog: a decision is stuck; exiting so the kernel "
                                      "releases waiting processes\n";
            (void)!write(2, msg, sizeof(msg) - 1);
            _exit(70);
        }
        if (g->deadline_ns != 0 && now > g->deadline_ns + 5000000000ull) {
            static const char msg[] = "mamori-guard: watchdog: max runtime passed; exiting\n";
            (void)!write(2, msg, sizeof(msg) - 1);
            _exit(0);
        }
    }
    return NULL;
}

static void set_mode(struct guardd *g, enum guard_mode m, const char *why)
{
    enum guard_mode old = enforcer_mode(g->enf);
    enforcer_set_mode(g->enf, m);
    EVENT(g, m == GUARD_DETECT ? LOG_WARN : LOG_INFO, "guard.mode", F_STR("mode", guard_mode_name(m)),
          F_STR("previous", guard_mode_name(old)), F_STR("on", why));
}

/* SIGHUP: re-read the configuration's mode and manifest (paths to watch need
 * a restart). A bad configuration or manifest leaves everything as it was. */
static void reload(struct guardd *g)
{
    struct guardconf nc;
    int r = guardconf_load(g->o->config, &nc);
    if (r) {
        EVENT(g, LOG_ERROR, "guard.config_refused", F_STR("path", g->o->config), F_STR("reason", mamori_strerror(r)),
              F_INT("line", nc.err_line));
        return;
    }
    char *keep = g->conf.manifest;
    g->conf.manifest = nc.manifest;
    memcpy(g->conf.pub, nc.pub, MANIFEST_PK_LEN);
    nc.manifest = keep;
    (void)load_manifest(g, "reload");
    if (nc.mode != enforcer_mode(g->enf))
        set_mode(g, nc.mode, "reload");
    guardconf_free(&nc);
}

static void print_stats(struct guardd *g)
{
    struct enforcer_stats s;
    enforcer_stats(g->enf, &s);
    uint64_t misses = s.decisions - s.cache_hits - s.self;
    fprintf(stderr,
            "mamori-guard stats: decisions=%llu self=%llu allowed=%llu denied=%llu detected=%llu errors=%llu "
            "cache_hits=%llu hashed=%llu hit_avg_ns=%llu miss_avg_ns=%llu\n",
            (unsigned long long)s.decisions, (unsigned long long)s.self, (unsigned long long)s.allowed,
            (unsigned long long)s.denied, (unsigned long long)s.detected, (unsigned long long)s.errors,
            (unsigned long long)s.cache_hits, (unsigned long long)s.hashed,
            (unsigned long long)(s.cache_hits ? s.hit_ns_total / s.cache_hits : 0),
            (unsigned long long)(misses ? s.miss_ns_total / misses : 0));
    /* Percentiles from the log2 histogram: the bucket's upper bound. */
    for (int pass = 0; pass < 2; pass++) {
        const uint64_t *h = pass == 0 ? s.hit_hist : s.miss_hist;
        uint64_t total = 0, acc = 0, p50 = 0, p99 = 0;
        for (int i = 0; i < ENFORCER_HIST_BUCKETS; i++)
            total += h[i];
        for (int i = 0; i < ENFORCER_HIST_BUCKETS && total; i++) {
            acc += h[i];
            if (!p50 && acc * 2 >= total)
                p50 = 2ull << i;
            if (!p99 && acc * 100 >= total * 99)
                p99 = 2ull << i;
        }
        fprintf(stderr, "mamori-guard stats: %s n=%llu p50_ns<=%llu p99_ns<=%llu\n", pass == 0 ? "hit" : "miss",
                (unsigned long long)total, (unsigned long long)p50, (unsigned long long)p99);
    }
}

/* The root of the mount holding path's directory (path may not exist yet). */
static bool mount_root_of(const char *path, char ret[static PATH_MAX])
{
    char dir[PATH_MAX];
    struct statx sx;
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return false;
    slash[slash == dir ? 1 : 0] = '\0';
    if (realpath(dir, ret) == NULL)
        return false;
    for (;;) {
        if (statx(AT_FDCWD, ret, 0, STATX_BASIC_STATS, &sx) != 0)
            return false;
        if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
            return true;
        char *s = strrchr(ret, '/');
        if (s == NULL || strcmp(ret, "/") == 0)
            return strcmp(ret, "/") == 0;
        s[s == ret ? 1 : 0] = '\0';
    }
}

/* True when path lies on the mount rooted at mnt (what FAN_MARK_MOUNT covers). */
static bool path_under_mount(const char *path, const char *mnt)
{
    char root[PATH_MAX], rmnt[PATH_MAX];
    return mount_root_of(path, root) && realpath(mnt, rmnt) != NULL && strcmp(root, rmnt) == 0;
}

static int setup(struct guardd *g)
{
    int r;
    if ((r = guardconf_load(g->o->config, &g->conf))) {
        fprintf(stderr, "mamori-guard: %s: %s (line %d)\n", g->o->config, mamori_strerror(r), g->conf.err_line);
        return r;
    }
    if (g->o->mode_override)
        g->conf.mode = g->o->mode;
    if (g->conf.alert_log) {
        g->alert_fd = open(g->conf.alert_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (g->alert_fd < 0) {
            fprintf(stderr, "mamori-guard: %s: %s\n", g->conf.alert_log, strerror(errno));
            return MAMORI_ERR_IO;
        }
    }
    log_setup(g->alert_fd, LOG_INFO, "mamori-guard");
    /* The recorder opens the audit store while holding the audit lock; were the
     * store inside a watched mount, that open would wait on the decision
     * thread, which may be waiting on the lock (reload): refuse the layout. */
    for (size_t i = 0; i < g->conf.nwatch; i++) {
        char real[PATH_MAX];
        if (!g->conf.allow_system_mounts && realpath(g->conf.watch[i], real) != NULL && strcmp(real, "/") == 0) {
            fprintf(stderr, "mamori-guard: watch /: refused without allow_system_mounts = yes\n");
            return MAMORI_ERR_REFUSED;
        }
    }
    for (size_t i = 0; i < g->conf.nwatch; i++)
        if (path_under_mount(g->conf.audit, g->conf.watch[i])) {
            fprintf(stderr, "mamori-guard: the audit store %s must not lie under the watched mount %s\n",
                    g->conf.audit, g->conf.watch[i]);
            return MAMORI_ERR_CONFIG;
        }
    if ((r = audit_open(g->conf.audit, &g->audit))) {
        fprintf(stderr, "mamori-guard: audit %s: %s\n", g->conf.audit, mamori_strerror(r));
        return r;
    }
    /* No valid manifest, no guard: starting with nothing listed in enforce
     * mode would deny every program; refusing to start is the visible failure. */
    if ((r = load_manifest(g, "start")))
        return r;
    if ((r = gqueue_new(GQUEUE_MAX, &g->q)) || (r = enforcer_new(g->conf.mode, g->conf.max_hash_bytes, g->q, &g->enf)))
        return r;
    enforcer_set_manifest(g->enf, g->cur->m);
    enforcer_set_spin(g->enf, (uint64_t)g->conf.spin_us * 1000u);
    if ((r = enforcer_open(g->enf))) {
        fprintf(stderr, "mamori-guard: fanotify: %s\n", strerror(errno));
        return r;
    }
    for (size_t i = 0; i < g->conf.nwatch; i++)
        if ((r = enforcer_watch_mount(g->enf, g->conf.watch[i], g->conf.allow_system_mounts))) {
            fprintf(stderr, "mamori-guard: watch %s: %s%s\n", g->conf.watch[i], mamori_strerror(r),
                    r == MAMORI_ERR_REFUSED ? " (not a mount point, or / without allow_system_mounts)" : "");
            return r;
        }
    for (size_t i = 0; i < g->conf.nintegrity; i++)
        if ((r = enforcer_watch_integrity(g->enf, g->conf.integrity[i]))) {
            fprintf(stderr, "mamori-guard: integrity %s: %s\n", g->conf.integrity[i], mamori_strerror(r));
            return r;
        }
    EVENT(g, g->conf.mode == GUARD_DETECT ? LOG_WARN : LOG_INFO, "guard.mode",
          F_STR("mode", guard_mode_name(g->conf.mode)), F_STR("previous", "stopped"), F_STR("on", "start"));
    return 0;
}

static int loop(struct guardd *g, int sfd)
{
    struct pollfd p[4] = {
        {.fd = enforcer_perm_fd(g->enf), .events = POLLIN},
        {.fd = enforcer_notify_fd(g->enf), .events = POLLIN},
        {.fd = enforcer_integ_fd(g->enf), .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
    };
    struct gqueue_rec full = {.kind = GREC_INTEG_FULL};
    (void)gqueue_push(g->q, &full); /* the check at start */
    fprintf(stderr, "mamori-guard: ready mode=%s entries=%zu\n", guard_mode_name(enforcer_mode(g->enf)),
            manifest_count(g->cur->m));
    while (!atomic_load(&g->stopping)) {
        int timeout = 1000;
        if (g->deadline_ns) {
            uint64_t now = mono_ns();
            if (now >= g->deadline_ns)
                break;
            if ((g->deadline_ns - now) / 1000000 < 1000)
                timeout = (int)((g->deadline_ns - now) / 1000000) + 1;
        }
        int n = poll(p, 4, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 70;
        if (p[0].revents & POLLIN) {
            atomic_store(&g->inflight_since, mono_ns());
            int r = enforcer_handle_perm(g->enf);
            atomic_store(&g->inflight_since, 0);
            if (r)
                return 70;
        }
        if (p[1].revents & POLLIN)
            (void)enforcer_handle_notify(g->enf);
        if (p[2].revents & POLLIN)
            (void)enforcer_handle_integ(g->enf);
        if (p[3].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGHUP)
                    reload(g);
                else if (si.ssi_signo == SIGUSR1)
                    (void)gqueue_push(g->q, &full);
                else
                    atomic_store(&g->stopping, true);
            }
        }
    }
    return 0;
}

int guardd_run(const struct guardd_opts *o)
{
    struct guardd g = {.o = o, .alert_fd = 2};
    pthread_t rec_t, wd_t;
    bool rec_started = false;
    int rc = 1, sfd = -1;
    sigset_t set;

    pthread_mutex_init(&g.audit_mu, NULL);
    pthread_mutex_init(&g.mref_mu, NULL);
    /* Signals are read from a signalfd by the loop; block them first so the
     * threads started below inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (o->max_runtime)
        g.deadline_ns = mono_ns() + (uint64_t)o->max_runtime * 1000000000ull;
    if (setup(&g) != 0)
        goto out;
    if ((sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        goto out;
    if (pthread_create(&wd_t, NULL, watchdog_main, &g) != 0 || pthread_detach(wd_t) != 0)
        goto out;
    if (pthread_create(&rec_t, NULL, recorder_main, &g) != 0)
        goto out;
    rec_started = true;
    rc = loop(&g, sfd);
out:
    /* Release the kernel first: closing the groups allows anything pending. */
    if (g.enf && o->stats)
        print_stats(&g);
    enum guard_mode last = g.enf ? enforcer_mode(g.enf) : g.conf.mode;
    enforcer_free(g.enf);
    g.enf = NULL;
    if (rec_started) {
        struct gqueue_rec stop = {.kind = GREC_STOP};
        for (int i = 0; i < 200 && !gqueue_push(g.q, &stop); i++)
            usleep(10000);
        pthread_join(rec_t, NULL);
    }
    if (g.audit && rc == 0)
        EVENT(&g, LOG_INFO, "guard.stop", F_STR("mode", guard_mode_name(last)));
    if (sfd >= 0)
        close(sfd);
    mref_put(&g, g.cur);
    gqueue_free(g.q);
    audit_close(g.audit);
    if (g.alert_fd > 2)
        close(g.alert_fd);
    guardconf_free(&g.conf);
    return rc;
}
