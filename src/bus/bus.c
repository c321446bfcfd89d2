/*
 * bus.c: the terminal side of the device bus. Owns listening transports,
 * connections and their sessions, the admission callbacks (registry check +
 * audit event for every refusal), attach/detach bookkeeping, outstanding
 * requests with timeouts, and delivery of events to the layer above.
 * Must not own device semantics (devapi.c above) or key storage (keys.h).
 *
 * Order matters on admission: the audit event for a refusal is written before
 * the session answers, so a refused device can never be "in" without a
 * record, and a database failure refuses (fail closed).
 */
#include "bus/bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/transport.h"
#include "crypto/noise.h"
#include "mamori/err.h"

struct conn;

struct listener {
    struct bus *b;
    int fd;
    struct transport_addr addr;
};

struct conn {
    struct bus *b;
    int fd;
    enum transport_kind tk;
    bool serial_line; /* a tty: the fd outlives sessions */
    struct session *s;
    uint64_t timer;
    bool attached, refused, want_write, closing;
    /* Re-entrancy: a callback may run the event loop (bus_call). While this
     * connection's code is on the stack (busy > 0) it is neither fed nor
     * freed: reading pauses, and destruction leaves a zombie freed on release. */
    int busy;
    bool zombie, read_paused;
    char serial[CERT_TEXT_MAX + 1];
    char model[CERT_TEXT_MAX + 1];
    char kind[REGISTRY_KIND_MAX + 1];
    struct conn *next;
};

struct pending {
    uint64_t id;
    struct conn *c;
    bus_reply_fn cb;
    void *ctx;
    uint64_t timer;
    struct bus *b;
    bool used;
};

struct bus {
    struct bus_config cfg;
    struct listener lis[BUS_MAX_LISTEN];
    size_t nlis;
    struct conn *conns;
    size_t nconns;
    struct pending *pend; /* BUS_MAX_PENDING slots */
    bus_event_fn on_event;
    void *event_ctx;
    bus_attach_fn on_attach;
    void *attach_ctx;
    /* refusal records: at most BUS_REFUSALS_PER_MIN per minute, the rest counted */
    int64_t refuse_window;
    uint32_t refuse_n;
    uint64_t refuse_suppressed;
};

static const struct audit_actor bus_actor = {.process = "mamori-terminald/bus"};

/* An unauthenticated peer can cause refusals at the cost of a connect, and
 * every refusal is a durable audit write: keep the log from being flooded
 * (guideline 9) while never losing the fact that refusals happened. */
static bool refusal_may_record(struct bus *b)
{
    int64_t now = evloop_now_ms();
    if (now - b->refuse_window >= 60000) {
        if (b->refuse_suppressed > 0)
            (void)audit_event(b->cfg.audit, &bus_actor, "device.refused_suppressed",
                              F_INT("count", (int64_t)b->refuse_suppressed),
                              F_INT("window_ms", now - b->refuse_window));
        b->refuse_window = now;
        b->refuse_n = 0;
        b->refuse_suppressed = 0;
    }
    if (b->refuse_n < BUS_REFUSALS_PER_MIN) {
        b->refuse_n++;
        return true;
    }
    b->refuse_suppressed++;
    return false;
}

static void conn_arm_timer(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_destroy(struct conn *c);
static void conn_release(struct conn *c);
static void conn_io(struct evloop *l, int fd, uint32_t events, void *ctx);
static int conn_new_session(struct conn *c);

/* ---------- pending requests ---------- */

static void pending_finish(struct pending *p, int status, const cbor_item_t *reply)
{
    bus_reply_fn cb = p->cb;
    void *ctx = p->ctx;
    if (p->timer)
        evloop_timer_cancel(p->b->cfg.loop, p->timer);
    p->used = false;
    p->cb = NULL;
    if (cb)
        cb(ctx, status, reply);
}

static void pending_timeout(struct evloop *l, void *ctx)
{
    struct pending *p = ctx;
    p->timer = 0;
    if (p->used)
        pending_finish(p, MAMORI_ERR_TIMEOUT, NULL);
}

static void pending_fail_conn(struct bus *b, struct conn *c)
{
    for (size_t i = 0; i < BUS_MAX_PENDING; i++)
        if (b->pend[i].used && b->pend[i].c == c)
            pending_finish(&b->pend[i], MAMORI_ERR_OFFLINE, NULL);
}

/* ---------- admission ---------- */

static int cb_lookup(void *ctx, const uint8_t pub[static SESSION_KEY_LEN], char *reason, size_t cap)
{
    struct conn *c = ctx;
    struct registry_device d;
    int r = registry_find_key(c->b->cfg.registry, pub, &d);
    const char *why = NULL;
    if (r == MAMORI_ERR_NOTFOUND)
        why = "unknown_key";
    else if (r != 0)
        why = "registry_error";
    else if (d.removed)
        why = "removed";
    if (why == NULL)
        return 0;
    snprintf(reason, cap, "%s", why);
    c->refused = true;
    if (refusal_may_record(c->b))
        (void)audit_event(c->b->cfg.audit, &bus_actor, "device.refused", F_STR("reason", why),
                          F_STR("serial", r == 0 ? d.serial : ""), F_STR("pattern", "KK"),
                          F_HEX("bus_pub", pub, SESSION_KEY_LEN),
                          F_STR("transport", transport_kind_name(c->tk)));
    return MAMORI_ERR_REFUSED;
}

static int cb_admit(void *ctx, int pattern, const uint8_t pub[static SESSION_KEY_LEN],
                    const uint8_t *cert, size_t cert_len, char *reason, size_t cap)
{
    struct conn *c = ctx;
    struct cert parsed;
    struct registry_device d;
    enum registry_verdict v;
    memset(&parsed, 0, sizeof(parsed));
    v = registry_check(c->b->cfg.registry, cert, cert_len, pub, c->b->cfg.ca_pub, &parsed);
    if (v == REG_ACCEPT && registry_get(c->b->cfg.registry, parsed.serial, &d) != 0)
        v = REG_UNKNOWN; /* vanished between check and get: fail closed */
    if (v != REG_ACCEPT) {
        snprintf(reason, cap, "%s", registry_verdict_str(v));
        c->refused = true;
        if (refusal_may_record(c->b))
            (void)audit_event(
                c->b->cfg.audit, &bus_actor, "device.refused",
                F_STR("reason", registry_verdict_str(v)), F_STR("serial", parsed.serial),
                F_STR("model", parsed.model), F_STR("pattern", pattern == NOISE_XX ? "XX" : "KK"),
                F_HEX("bus_pub", pub, SESSION_KEY_LEN), F_HEX("fw", parsed.fw, CERT_FW_LEN),
                F_STR("transport", transport_kind_name(c->tk)));
        return MAMORI_ERR_REFUSED;
    }
    snprintf(c->serial, sizeof(c->serial), "%s", d.serial);
    snprintf(c->model, sizeof(c->model), "%s", d.model);
    snprintf(c->kind, sizeof(c->kind), "%s", d.kind);
    if (pattern == NOISE_XX)
        (void)audit_event(c->b->cfg.audit, &bus_actor, "device.paired", F_STR("serial", d.serial),
                          F_STR("model", d.model), F_STR("kind", d.kind));
    return 0;
}

/* ---------- session events ---------- */

static struct conn *find_attached(struct bus *b, const char *serial, const struct conn * not )
{
    for (struct conn *c = b->conns; c; c = c->next)
        if (c != not &&c->attached && strcmp(c->serial, serial) == 0)
            return c;
    return NULL;
}

static void on_session(void *ctx, struct session *s, const struct session_ev *ev)
{
    struct conn *c = ctx;
    struct bus *b = c->b;
    switch (ev->kind) {
    case SESSION_EV_OPEN: {
        struct conn *old = find_attached(b, c->serial, c);
        if (old != NULL)
            session_close(old->s, "superseded by a new session");
        c->attached = true;
        (void)audit_event(b->cfg.audit, &bus_actor, "device.attach", F_STR("serial", c->serial),
                          F_STR("model", c->model), F_STR("kind", c->kind),
                          F_STR("transport", transport_kind_name(c->tk)),
                          F_STR("reason", "handshake"));
        if (b->on_attach)
            b->on_attach(b->attach_ctx, c->serial, true, "handshake");
        break;
    }
    case SESSION_EV_MSG: {
        const struct msg *m = ev->msg;
        if (m->has_ref) {
            for (size_t i = 0; i < BUS_MAX_PENDING; i++) {
                struct pending *p = &b->pend[i];
                if (p->used && p->c == c && p->id == m->ref) {
                    int status = 0;
                    if (strcmp(m->type, "error") == 0) {
                        int64_t code = MAMORI_ERR_PROTO;
                        (void)msg_get_int(m->body, "code", &code);
                        status =
                            (code < 0 && code > MAMORI_ERR__LAST) ? (int)code : MAMORI_ERR_PROTO;
                    }
                    pending_finish(p, status, status == 0 ? m->body : NULL);
                    return;
                }
            }
            return; /* a late reply after a timeout */
        }
        if (b->on_event)
            b->on_event(b->event_ctx, c->serial, m->type, m->body);
        break;
    }
    case SESSION_EV_REJECT:
        (void)audit_event(b->cfg.audit, &bus_actor, "bus.frame_rejected",
                          F_STR("serial", c->serial), F_STR("reason", ev->reason),
                          F_STR("transport", transport_kind_name(c->tk)));
        break;
    case SESSION_EV_THROTTLE:
        (void)audit_event(b->cfg.audit, &bus_actor, "device.throttled", F_STR("serial", c->serial),
                          F_STR("reason", ev->reason));
        break;
    case SESSION_EV_CLOSED:
        if (c->attached) {
            c->attached = false;
            (void)audit_event(b->cfg.audit, &bus_actor, "device.detach", F_STR("serial", c->serial),
                              F_STR("model", c->model), F_STR("kind", c->kind),
                              F_STR("reason", ev->reason),
                              F_STR("transport", transport_kind_name(c->tk)));
            pending_fail_conn(b, c);
            if (b->on_attach)
                b->on_attach(b->attach_ctx, c->serial, false, ev->reason);
        } else if (!c->refused && strcmp(ev->reason, "shutdown") != 0 &&
                   !(c->serial_line && session_frame_stats(s).frames == 0) &&
                   refusal_may_record(b)) {
            /* (an idle serial line timing out is not an event) */
            (void)audit_event(b->cfg.audit, &bus_actor, "device.handshake_failed",
                              F_STR("reason", ev->reason),
                              F_STR("transport", transport_kind_name(c->tk)));
        }
        c->closing = true;
        break;
    case SESSION_EV_PAIRED:
    case SESSION_EV_REKEY:
        break;
    }
}

/* ---------- connections ---------- */

static int conn_new_session(struct conn *c)
{
    struct session_cfg sc = {
        .role = SESSION_TERMINAL,
        .framing = transport_framing(c->tk),
        .transport = transport_kind_name(c->tk),
        .keys = c->b->cfg.keys,
        .lim = c->b->cfg.lim,
        .on_event = on_session,
        .ctx = c,
        .terminal_id = c->b->cfg.terminal_id,
        .lookup = cb_lookup,
        .admit = cb_admit,
    };
    c->refused = c->attached = c->closing = false;
    c->serial[0] = c->model[0] = c->kind[0] = '\0';
    return session_new(&sc, evloop_now_ms(), &c->s);
}

/* After any activity: flush, and either end the session or re-arm its timer. */
static void conn_after(struct conn *c)
{
    conn_flush(c);
    if (c->busy > 0 || c->zombie)
        return; /* the outermost release finishes the job */
    if (c->s != NULL && session_is_dead(c->s)) {
        conn_flush(c); /* best effort: a refusal frame */
        if (c->serial_line) {
            /* A line stays; start listening for the next handshake on it. */
            session_free(c->s);
            c->s = NULL;
            if (conn_new_session(c) != 0) {
                conn_destroy(c);
                return;
            }
        } else {
            conn_destroy(c);
            return;
        }
    }
    conn_arm_timer(c);
}

static void conn_hold(struct conn *c)
{
    c->busy++;
}

static void conn_release(struct conn *c)
{
    if (--c->busy > 0)
        return;
    if (c->zombie) {
        session_free(c->s);
        free(c);
        return;
    }
    if (c->read_paused) {
        c->read_paused = false;
        if (evloop_add_fd(c->b->cfg.loop, c->fd, EVLOOP_READ | (c->want_write ? EVLOOP_WRITE : 0),
                          conn_io, c) != 0) {
            session_close(c->s, "internal: cannot watch the connection");
        }
    }
    conn_after(c);
}

static void conn_timer(struct evloop *l, void *ctx)
{
    struct conn *c = ctx;
    c->timer = 0;
    if (c->busy > 0) {
        /* fired in a nested loop while this session is on the stack: later */
        (void)evloop_timer(l, 10, conn_timer, c, &c->timer);
        return;
    }
    conn_hold(c);
    (void)session_tick(c->s, evloop_now_ms());
    conn_release(c);
}

static void conn_arm_timer(struct conn *c)
{
    if (c->timer)
        evloop_timer_cancel(c->b->cfg.loop, c->timer);
    c->timer = 0;
    (void)evloop_timer(c->b->cfg.loop, session_next_tick(c->s, evloop_now_ms()) + 1, conn_timer, c,
                       &c->timer);
}

static void conn_flush(struct conn *c)
{
    struct buf *o;
    if (c->s == NULL)
        return;
    o = session_out(c->s);
    while (buf_remaining(o) > 0) {
        ssize_t k = write(c->fd, buf_ptr(o), buf_remaining(o));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            buf_reset(o);
            session_close(c->s, "closed: write failed");
            return;
        }
        (void)buf_skip(o, (size_t)k);
    }
    buf_compact(o);
    bool want = buf_remaining(o) > 0;
    if (want != c->want_write) {
        c->want_write = want;
        if (!c->read_paused && !c->zombie)
            (void)evloop_mod_fd(c->b->cfg.loop, c->fd, EVLOOP_READ | (want ? EVLOOP_WRITE : 0));
    }
}

static void conn_io(struct evloop *l, int fd, uint32_t events, void *ctx)
{
    struct conn *c = ctx;
    uint8_t tmp[FRAME_READ_CHUNK];
    if (c->busy > 0) {
        /* Re-entered from a nested loop while its session is on the stack:
         * never feed a session re-entrantly; stop watching until release. */
        if (!c->read_paused) {
            c->read_paused = true;
            evloop_del_fd(l, fd);
        }
        return;
    }
    conn_hold(c);
    if (events & EVLOOP_WRITE)
        conn_flush(c);
    if (events & EVLOOP_READ) {
        for (int i = 0; i < 8 && !c->zombie; i++) { /* bounded per wakeup: fairness */
            ssize_t k = read(fd, tmp, sizeof(tmp));
            if (k > 0) {
                if (session_feed(c->s, evloop_now_ms(), tmp, (size_t)k) != 0)
                    break;
                continue;
            }
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (k < 0 && errno == EINTR)
                continue;
            session_close(c->s, (k == 0 || errno == ECONNRESET) ? "closed" : "closed: read error");
            if (c->serial_line)
                conn_destroy(c); /* the line itself went away */
            break;
        }
    }
    conn_release(c);
}

static void conn_destroy(struct conn *c)
{
    struct bus *b = c->b;
    struct conn **pp;
    if (c->zombie)
        return;
    /* Out of the loop and the list first: the detach and reply callbacks
     * below may run a nested loop, which must not see this connection. */
    c->zombie = true;
    if (c->timer)
        evloop_timer_cancel(b->cfg.loop, c->timer);
    c->timer = 0;
    if (!c->read_paused)
        evloop_del_fd(b->cfg.loop, c->fd);
    for (pp = &b->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    b->nconns--;
    c->busy++;
    if (c->s && !session_is_dead(c->s))
        session_close(c->s, "shutdown");
    pending_fail_conn(b, c);
    close(c->fd);
    conn_release(c); /* frees it unless an outer caller still holds it */
}

static int conn_add(struct bus *b, int fd, enum transport_kind tk)
{
    struct conn *c;
    int r;
    if (b->nconns >= BUS_MAX_CONNS) {
        close(fd);
        return MAMORI_ERR_LIMIT;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return MAMORI_ERR_NOMEM;
    }
    c->b = b;
    c->fd = fd;
    c->tk = tk;
    c->serial_line = tk == TRANSPORT_SERIAL;
    if ((r = conn_new_session(c)) != 0 ||
        (r = evloop_add_fd(b->cfg.loop, fd, EVLOOP_READ, conn_io, c)) != 0) {
        session_free(c->s);
        close(fd);
        free(c);
        return r;
    }
    c->next = b->conns;
    b->conns = c;
    b->nconns++;
    conn_arm_timer(c);
    return 0;
}

static void listener_io(struct evloop *l, int fd, uint32_t events, void *ctx)
{
    struct listener *li = ctx;
    for (int i = 0; i < 16; i++) {
        int cfd;
        if (transport_accept(fd, &cfd) != 0)
            return;
        if (conn_add(li->b, cfd, li->addr.kind) == MAMORI_ERR_LIMIT)
            (void)audit_event(li->b->cfg.audit, &bus_actor, "bus.conn_refused",
                              F_STR("reason", "connection limit"));
    }
}

/* ---------- public ---------- */

int bus_new(const struct bus_config *cfg, struct bus **ret)
{
    struct bus *b;
    int r = 0;
    if (cfg == NULL || cfg->loop == NULL || cfg->keys == NULL || cfg->registry == NULL ||
        cfg->audit == NULL || cfg->nlisten > BUS_MAX_LISTEN)
        return MAMORI_ERR_INVAL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return MAMORI_ERR_NOMEM;
    b->pend = calloc(BUS_MAX_PENDING, sizeof(*b->pend));
    if (b->pend == NULL) {
        free(b);
        return MAMORI_ERR_NOMEM;
    }
    b->cfg = *cfg;
    if (b->cfg.lim.hb_ms <= 0)
        session_limits_default(&b->cfg.lim);
    for (size_t i = 0; i < cfg->nlisten; i++) {
        struct listener *li = &b->lis[b->nlis];
        int fd;
        li->b = b;
        if ((r = transport_parse(cfg->listen[i], &li->addr)) != 0)
            goto fail;
        if (li->addr.kind == TRANSPORT_SERIAL) {
            if ((r = transport_serial_open(li->addr.path, &fd)) != 0 ||
                (r = conn_add(b, fd, TRANSPORT_SERIAL)) != 0)
                goto fail;
            continue;
        }
        if ((r = transport_listen(&li->addr, &fd)) != 0)
            goto fail;
        li->fd = fd;
        if ((r = evloop_add_fd(cfg->loop, fd, EVLOOP_READ, listener_io, li)) != 0) {
            close(fd);
            goto fail;
        }
        b->nlis++;
    }
    *ret = b;
    return 0;
fail:
    bus_free(b);
    return r;
}

void bus_free(struct bus *b)
{
    if (b == NULL)
        return;
    while (b->conns)
        conn_destroy(b->conns);
    for (size_t i = 0; i < b->nlis; i++) {
        evloop_del_fd(b->cfg.loop, b->lis[i].fd);
        close(b->lis[i].fd);
        if (b->lis[i].addr.kind == TRANSPORT_UNIX)
            unlink(b->lis[i].addr.path);
    }
    for (size_t i = 0; i < BUS_MAX_PENDING; i++)
        if (b->pend[i].used)
            pending_finish(&b->pend[i], MAMORI_ERR_OFFLINE, NULL);
    free(b->pend);
    free(b);
}

void bus_on_event(struct bus *b, bus_event_fn fn, void *ctx)
{
    b->on_event = fn;
    b->event_ctx = ctx;
}

void bus_on_attach(struct bus *b, bus_attach_fn fn, void *ctx)
{
    b->on_attach = fn;
    b->attach_ctx = ctx;
}

int bus_request(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
                int timeout_ms, bus_reply_fn cb, void *ctx)
{
    struct conn *c = find_attached(b, serial, NULL);
    struct pending *p = NULL;
    uint64_t id;
    int r;
    if (c == NULL) {
        r = MAMORI_ERR_OFFLINE;
        goto out;
    }
    for (size_t i = 0; i < BUS_MAX_PENDING; i++)
        if (!b->pend[i].used) {
            p = &b->pend[i];
            break;
        }
    if (p == NULL) {
        r = MAMORI_ERR_LIMIT;
        goto out;
    }
    if ((r = session_send(c->s, evloop_now_ms(), type, body, &id)) != 0)
        goto out;
    *p = (struct pending){.id = id, .c = c, .cb = cb, .ctx = ctx, .b = b, .used = true};
    if (evloop_timer(b->cfg.loop, timeout_ms > 0 ? timeout_ms : 1, pending_timeout, p, &p->timer) !=
        0)
        p->timer = 0; /* no timer: the detach still ends it */
    conn_after(c);
out:
    if (body)
        cbor_decref(&body);
    return r;
}

struct call_wait {
    bool done;
    int status;
    cbor_item_t *reply;
};

static void call_done(void *ctx, int status, const cbor_item_t *reply)
{
    struct call_wait *w = ctx;
    w->done = true;
    w->status = status;
    w->reply = reply ? cbor_incref((cbor_item_t *)(uintptr_t)reply) : NULL;
}

int bus_call(struct bus *b, const char *serial, const char *type, cbor_item_t *body, int timeout_ms,
             cbor_item_t **ret_reply)
{
    struct call_wait w = {0};
    int r;
    {
        /* The device whose own callback is on the stack cannot be read
         * until it returns, so its reply could never arrive: refuse. */
        struct conn *c = find_attached(b, serial, NULL);
        if (c != NULL && c->busy > 0) {
            if (body)
                cbor_decref(&body);
            return MAMORI_ERR_STATE;
        }
    }
    r = bus_request(b, serial, type, body, timeout_ms, call_done, &w);
    if (r != 0)
        return r;
    while (!w.done)
        if (evloop_run_once(b->cfg.loop, 100) < 0)
            return MAMORI_ERR_SYS; /* the pending entry times out later by itself */
    if (w.status != 0) {
        if (w.reply)
            cbor_decref(&w.reply);
        return w.status;
    }
    if (ret_reply)
        *ret_reply = w.reply;
    else if (w.reply)
        cbor_decref(&w.reply);
    return 0;
}

int bus_devices(struct bus *b, struct bus_device_info *out, size_t cap, size_t *ret_n)
{
    struct registry_device *all = calloc(REGISTRY_MAX_DEVICES, sizeof(*all));
    size_t n = 0, k = 0;
    int r;
    if (all == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = registry_list(b->cfg.registry, all, REGISTRY_MAX_DEVICES, &n)) != 0) {
        free(all);
        return r;
    }
    for (size_t i = 0; i < n && k < cap; i++) {
        if (all[i].removed)
            continue;
        memset(&out[k], 0, sizeof(out[k]));
        snprintf(out[k].serial, sizeof(out[k].serial), "%s", all[i].serial);
        snprintf(out[k].model, sizeof(out[k].model), "%s", all[i].model);
        snprintf(out[k].kind, sizeof(out[k].kind), "%s", all[i].kind);
        out[k].attached = find_attached(b, all[i].serial, NULL) != NULL;
        k++;
    }
    free(all);
    *ret_n = k;
    return 0;
}

void bus_disconnect(struct bus *b, const char *serial, const char *reason)
{
    struct conn *c = find_attached(b, serial, NULL);
    if (c == NULL)
        return;
    session_close(c->s, reason);
    conn_after(c);
}

size_t bus_attached_count(const struct bus *b)
{
    size_t n = 0;
    for (const struct conn *c = b->conns; c; c = c->next)
        n += c->attached;
    return n;
}
