/*
 * devrun.c: one simulated device's runner. Owns identity files, connection and
 * reconnection, the device-side session and its pairing rules, request
 * dispatch into the firmware and the physical-world control socket. Must not
 * own device behaviour (src/devices/KIND.c) or bus mechanics (session.c).
 *
 * Pairing rule (POL-4): with paired.pub present the device only ever runs KK
 * against that key, so a controller without the terminal's private key can
 * neither complete a handshake nor send a command; paired.pub is written only
 * after the terminal admitted the device (bus.welcome), and removed only by
 * the physical "reset" control verb, which is recorded.
 */
#include "bus/devrun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "audit/devlogfile.h"
#include "bus/cert.h"
#include "bus/ctl.h"
#include "bus/session.h"
#include "bus/transport.h"
#include "common/hex.h"
#include "devices/device.h"
#include "devices/emrec.h"
#include "keys/keys.h"
#include "mamori/err.h"

struct drec {
    char event[48];
    char reason[SESSION_REASON_LEN];
};

struct devrun {
    struct evloop *l;
    const struct device_class *cls;
    void *fw;
    struct device_io io;
    char dir[DEVRUN_PATH_MAX];
    struct transport_addr addr;
    struct keys *keys;
    struct audit *audit;
    struct devlog_file *log; /* the signed device log (io.record) */
    struct ctl *ctl;
    uint8_t cert[CERT_MAX];
    size_t cert_len;
    char serial[CERT_TEXT_MAX + 1];
    uint8_t pinned[SESSION_KEY_LEN];
    bool paired;
    int fd;
    struct session *s;
    uint64_t timer;
    bool unplugged, want_write;
    int lose_replies; /* test control: execute the next N requests, drop their replies */
    int64_t backoff;
    struct session_limits lim;
    struct drec rec[DEVRUN_RECORDS_MAX];
    uint64_t nrec;
    uint64_t sessions, opens;
    int in_session; /* > 0 while session code is on the stack: never free it then */
};

static const struct audit_actor dev_actor = {.process = "mamori-devsim"};

static void schedule(struct devrun *d, int64_t ms);
static void conn_close(struct devrun *d);

static void note(struct devrun *d, const char *event, const char *reason)
{
    struct drec *r = &d->rec[d->nrec++ % DEVRUN_RECORDS_MAX];
    snprintf(r->event, sizeof(r->event), "%s", event);
    snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
    (void)audit_event(d->audit, &dev_actor, event, F_STR("serial", d->serial),
                      F_STR("reason", reason ? reason : ""));
}

static int path_in(const struct devrun *d, const char *name, char *out, size_t cap)
{
    size_t a = strlen(d->dir), b = strlen(name);
    if (a + 1 + b + 1 > cap)
        return MAMORI_ERR_TOOBIG;
    memcpy(out, d->dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 0;
}

/* ---------- identity ---------- */

static int fw_measure(const char *kind, uint8_t out[32])
{
    /* The simulator's "firmware" is this executable plus its class name. */
    crypto_hash_sha256_state st;
    uint8_t b[65536];
    ssize_t k;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_ERR_IO;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
    while ((k = read(fd, b, sizeof(b))) > 0)
        crypto_hash_sha256_update(&st, b, (size_t)k);
    close(fd);
    if (k < 0)
        return MAMORI_ERR_IO;
    crypto_hash_sha256_final(&st, out);
    return 0;
}

int devrun_init(const char *kind, const char *state_dir, const char *serial, int print)
{
    const struct device_class *cls = device_class_find(kind);
    char p[DEVRUN_PATH_MAX], bus[65], logk[65], fwh[65], ser[CERT_TEXT_MAX + 1];
    uint8_t pub[32], lpub[32], fw[32];
    struct keys *k = NULL;
    json_t *j;
    int r;
    if (cls == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
        return MAMORI_ERR_IO;
    if (snprintf(p, sizeof(p), "%s/device.key", state_dir) >= (int)sizeof(p))
        return MAMORI_ERR_TOOBIG;
    if ((r = keys_load_or_create(p, &k)) != 0)
        return r;
    keys_dh_public(k, pub);
    keys_sign_public(k, lpub);
    keys_free(k);
    if ((r = fw_measure(kind, fw)) != 0)
        return r;
    (void)hex_encode(bus, sizeof(bus), pub, 32);
    (void)hex_encode(logk, sizeof(logk), lpub, 32);
    (void)hex_encode(fwh, sizeof(fwh), fw, 32);
    if (serial)
        snprintf(ser, sizeof(ser), "%s", serial);
    else
        snprintf(ser, sizeof(ser), "%.12s-%.8s", kind, bus);
    j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", kind, "model", cls->model, "serial", ser,
                  "bus_pub", bus, "log_pub", logk, "fw", fwh);
    if (j == NULL)
        return MAMORI_ERR_NOMEM;
    snprintf(p, sizeof(p), "%s/identity.json", state_dir);
    r = json_dump_file(j, p, JSON_INDENT(2)) == 0 ? 0 : MAMORI_ERR_IO;
    if (r == 0 && print) {
        char *s = json_dumps(j, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    }
    json_decref(j);
    return r;
}

static int load_pinned(struct devrun *d)
{
    char p[DEVRUN_PATH_MAX], line[128];
    size_t n;
    FILE *f;
    (void)path_in(d, "paired.pub", p, sizeof(p));
    f = fopen(p, "re");
    d->paired = false;
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (hex_decode(d->pinned, sizeof(d->pinned), line, &n) == 0 && n == 32)
            d->paired = true;
    }
    fclose(f);
    return d->paired ? 0 : MAMORI_ERR_INVAL;
}

static int save_pinned(struct devrun *d, const uint8_t pub[32])
{
    char p[DEVRUN_PATH_MAX], tmp[DEVRUN_PATH_MAX + 8], h[66];
    int fd;
    (void)path_in(d, "paired.pub", p, sizeof(p));
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    (void)hex_encode(h, sizeof(h), pub, 32);
    strcat(h, "\n");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return MAMORI_ERR_IO;
    if (write(fd, h, strlen(h)) != (ssize_t)strlen(h) || fsync(fd) != 0) {
        close(fd);
        return MAMORI_ERR_IO;
    }
    close(fd);
    if (rename(tmp, p) != 0)
        return MAMORI_ERR_IO;
    memcpy(d->pinned, pub, 32);
    d->paired = true;
    return 0;
}

/* ---------- session ---------- */

static void flush(struct devrun *d)
{
    struct buf *o;
    if (d->s == NULL || d->fd < 0)
        return;
    o = session_out(d->s);
    while (buf_remaining(o) > 0) {
        ssize_t k = write(d->fd, buf_ptr(o), buf_remaining(o));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k <= 0) {
            buf_reset(o);
            session_close(d->s, "closed: write failed");
            return;
        }
        (void)buf_skip(o, (size_t)k);
    }
    buf_compact(o);
    bool want = buf_remaining(o) > 0;
    if (want != d->want_write) {
        d->want_write = want;
        (void)evloop_mod_fd(d->l, d->fd, EVLOOP_READ | (want ? EVLOOP_WRITE : 0));
    }
}

/* ---------- device log (POL-8(1)) ---------- */

#define DEVRUN_LOG_FETCH_MAX 256      /* entries in one log_fetch reply */
#define DEVRUN_LOG_FETCH_BYTES 40000u /* entry bytes in one reply (< MSG_MAX_BYTES) */

static int io_record(void *ctx, const char *event, cbor_item_t *details)
{
    struct devrun *d = ctx;
    struct buf enc;
    struct timespec ts;
    int r = 0;
    buf_init(&enc, DEVLOG_DETAILS_MAX);
    if (details != NULL)
        r = msg_cbor_write(details, &enc);
    if (r == 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        r = devlog_file_append(d->log, event, buf_ptr(&enc), buf_remaining(&enc),
                               (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    }
    buf_free(&enc);
    if (details != NULL)
        cbor_decref(&details);
    return r;
}

/* device_io.sign: only device records with a known magic (emrec.h), so
 * the firmware can never have a device log entry or anything else signed
 * with the same key. */
static int io_sign(void *ctx, const uint8_t *msg, size_t n, uint8_t ret_sig[static 64])
{
    struct devrun *d = ctx;
    if (msg == NULL || n < 4 || n > EMREC_MAX || memcmp(msg, EMREC_MAGIC, 4) != 0)
        return MAMORI_ERR_PERM;
    return keys_sign(d->keys, ret_sig, msg, n);
}

static int fetch_put(void *ctx, uint64_t seq, const uint8_t *entry, size_t n)
{
    cbor_item_t *arr = ctx, *bs = cbor_build_bytestring(entry, n);
    bool ok = bs != NULL && cbor_array_push(arr, bs);
    (void)seq;
    if (bs != NULL)
        cbor_decref(&bs);
    return ok ? 0 : MAMORI_ERR_NOMEM;
}

/* "KIND.log_fetch" {from_seq, max} -> {entries: [bytes...], next, end}
 * (docs/protocol.md): the runner answers it for every class. */
static int log_fetch(struct devrun *d, const cbor_item_t *body, cbor_item_t **ret_reply)
{
    int64_t from = 0, max = DEVRUN_LOG_FETCH_MAX;
    uint64_t next = 0;
    cbor_item_t *arr, *reply;
    int r;
    if (body != NULL) {
        r = msg_get_int(body, "from_seq", &from);
        if ((r != 0 && r != MAMORI_ERR_NOTFOUND) || from < 0)
            return MAMORI_ERR_INVAL;
        r = msg_get_int(body, "max", &max);
        if ((r != 0 && r != MAMORI_ERR_NOTFOUND) || max < 1)
            return MAMORI_ERR_INVAL;
    }
    if (max > DEVRUN_LOG_FETCH_MAX)
        max = DEVRUN_LOG_FETCH_MAX;
    arr = cbor_new_definite_array((size_t)max);
    if (arr == NULL)
        return MAMORI_ERR_NOMEM;
    r = devlog_file_read(d->log, (uint64_t)from, (size_t)max, DEVRUN_LOG_FETCH_BYTES, fetch_put, arr, &next);
    if (r != 0) {
        cbor_decref(&arr);
        return r;
    }
    reply = msg_body_new();
    if (reply == NULL || msg_put_item(reply, "entries", arr) != 0 ||
        msg_put_int(reply, "next", (int64_t)next) != 0 ||
        msg_put_int(reply, "end", (int64_t)devlog_file_next_seq(d->log)) != 0) {
        if (reply != NULL)
            cbor_decref(&reply);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = reply;
    return 0;
}

static bool is_log_fetch(const struct devrun *d, const char *type)
{
    size_t k = strlen(d->cls->kind);
    return strncmp(type, d->cls->kind, k) == 0 && strcmp(type + k, ".log_fetch") == 0;
}

static void on_session(void *ctx, struct session *s, const struct session_ev *ev)
{
    struct devrun *d = ctx;
    switch (ev->kind) {
    case SESSION_EV_PAIRED:
        if (save_pinned(d, ev->peer) != 0) {
            session_close(s, "cannot store the pairing");
            return;
        }
        note(d, "device.paired", session_terminal_id(s));
        break;
    case SESSION_EV_OPEN:
        d->opens++;
        d->backoff = 0;
        break;
    case SESSION_EV_MSG: {
        const struct msg *m = ev->msg;
        cbor_item_t *reply = NULL;
        int r;
        if (m->has_ref)
            return; /* the device sends no requests; stray replies are ignored */
        if (is_log_fetch(d, m->type))
            r = log_fetch(d, m->body, &reply);
        else
            r = d->cls->request(d->fw, m->type, m->body, &reply);
        if (d->lose_replies > 0 && !is_log_fetch(d, m->type)) {
            d->lose_replies--; /* executed; the reply is lost on the way */
            note(d, "device.reply_lost", m->type);
        } else if (r == 0)
            (void)session_reply(s, evloop_now_ms(), m->id, "ok", reply);
        else
            (void)session_reply_error(s, evloop_now_ms(), m->id, r, mamori_strerror(r));
        if (reply)
            cbor_decref(&reply);
        break;
    }
    case SESSION_EV_REJECT:
        note(d, "bus.frame_rejected", ev->reason);
        break;
    case SESSION_EV_THROTTLE:
        note(d, "bus.throttled", ev->reason);
        break;
    case SESSION_EV_CLOSED:
        if (strncmp(ev->reason, "pairing refused", 15) == 0 || strncmp(ev->reason, "auth", 4) == 0)
            note(d, "device.controller_refused", ev->reason);
        else
            note(d, "bus.session_closed", ev->reason);
        break;
    case SESSION_EV_REKEY:
        break;
    }
}

static void after(struct devrun *d);

static void on_io(struct evloop *l, int fd, uint32_t events, void *ctx)
{
    struct devrun *d = ctx;
    uint8_t tmp[FRAME_READ_CHUNK];
    d->in_session++;
    if (events & EVLOOP_WRITE)
        flush(d);
    if (events & EVLOOP_READ) {
        for (int i = 0; i < 8 && d->s; i++) {
            ssize_t k = read(fd, tmp, sizeof(tmp));
            if (k > 0) {
                if (session_feed(d->s, evloop_now_ms(), tmp, (size_t)k) != 0)
                    break;
                continue;
            }
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (k < 0 && errno == EINTR)
                continue;
            session_close(d->s, k == 0 ? "closed by peer" : "closed: read error");
            break;
        }
    }
    d->in_session--;
    after(d);
}

static void on_timer(struct evloop *l, void *ctx)
{
    struct devrun *d = ctx;
    d->timer = 0;
    if (d->s == NULL) {
        /* reconnect */
        if (!d->unplugged) {
            int fd;
            if (transport_connect(&d->addr, &fd) != 0) {
                /* Nobody listening: a failed connect costs one syscall, so retry
                 * quickly (a restarted terminal finds its devices within ~250 ms). */
                d->backoff = d->backoff ? (d->backoff * 2 > 250 ? 250 : d->backoff * 2) : 50;
                schedule(d, d->backoff);
                return;
            }
            struct session_cfg sc = {
                .role = SESSION_DEVICE,
                .framing = transport_framing(d->addr.kind),
                .transport = transport_kind_name(d->addr.kind),
                .keys = d->keys,
                .lim = d->lim,
                .on_event = on_session,
                .ctx = d,
                .pinned = d->paired ? d->pinned : NULL,
                .cert = d->cert,
                .cert_len = d->cert_len,
            };
            d->fd = fd;
            d->want_write = false;
            if (session_new(&sc, evloop_now_ms(), &d->s) != 0 ||
                evloop_add_fd(d->l, fd, EVLOOP_READ, on_io, d) != 0) {
                conn_close(d);
                schedule(d, 500);
                return;
            }
            d->sessions++;
            after(d);
        }
        return;
    }
    d->in_session++;
    (void)session_tick(d->s, evloop_now_ms());
    d->in_session--;
    after(d);
}

static void schedule(struct devrun *d, int64_t ms)
{
    if (d->timer)
        evloop_timer_cancel(d->l, d->timer);
    d->timer = 0;
    (void)evloop_timer(d->l, ms, on_timer, d, &d->timer);
}

static void conn_close(struct devrun *d)
{
    if (d->s && !session_is_dead(d->s))
        session_close(d->s, "unplugged");
    if (d->fd >= 0) {
        evloop_del_fd(d->l, d->fd);
        close(d->fd);
    }
    d->fd = -1;
    session_free(d->s);
    d->s = NULL;
}

static void after(struct devrun *d)
{
    if (d->s == NULL)
        return;
    flush(d);
    if (d->in_session > 0)
        return; /* e.g. the firmware emitted during a request: the caller finishes */
    if (session_is_dead(d->s)) {
        flush(d);
        conn_close(d);
        d->backoff = d->backoff ? (d->backoff * 2 > 2000 ? 2000 : d->backoff * 2) : 200;
        if (!d->unplugged)
            schedule(d, d->backoff);
        return;
    }
    schedule(d, session_next_tick(d->s, evloop_now_ms()) + 1);
}

static int io_emit(void *ctx, const char *type, cbor_item_t *body)
{
    struct devrun *d = ctx;
    int r;
    if (d->s == NULL || !session_is_open(d->s)) {
        if (body)
            cbor_decref(&body);
        return MAMORI_ERR_OFFLINE;
    }
    r = session_send(d->s, evloop_now_ms(), type, body, NULL);
    if (body)
        cbor_decref(&body);
    after(d);
    return r;
}

/* ---------- control ---------- */

static int answer(struct buf *out, const char *s)
{
    return buf_put_bytes(out, s, strlen(s));
}

static int ctl_cmd(void *ctx, int argc, char **argv, struct buf *out)
{
    struct devrun *d = ctx;
    char line[512];
    if (strcmp(argv[0], "status") == 0 && argc == 1) {
        struct buf fw;
        struct session_stats st = {0};
        if (d->s)
            session_get_stats(d->s, &st);
        snprintf(line, sizeof(line),
                 "{\"serial\":\"%s\",\"kind\":\"%s\",\"paired\":%s,\"connected\":%s,"
                 "\"unplugged\":%s,\"sessions\":%llu,\"opens\":%llu,\"tx\":%llu,\"rx\":%llu,"
                 "\"tx_epoch\":%u,\"rx_epoch\":%u,\"replays\":%llu}\n",
                 d->serial, d->cls->kind, d->paired ? "true" : "false",
                 d->s && session_is_open(d->s) ? "true" : "false", d->unplugged ? "true" : "false",
                 (unsigned long long)d->sessions, (unsigned long long)d->opens,
                 (unsigned long long)st.tx_msgs, (unsigned long long)st.rx_msgs, st.tx_epoch,
                 st.rx_epoch, (unsigned long long)st.replays);
        buf_init(&fw, 4096);
        if (d->cls->control(d->fw, argc, argv, &fw) == 0 && buf_remaining(&fw) > 0) {
            (void)answer(out, line);
            (void)buf_put_bytes(out, buf_ptr(&fw), buf_remaining(&fw));
            buf_free(&fw);
            return 0;
        }
        buf_free(&fw);
        return answer(out, line);
    }
    if (strcmp(argv[0], "unplug") == 0) {
        d->unplugged = true;
        if (d->timer)
            evloop_timer_cancel(d->l, d->timer);
        d->timer = 0;
        conn_close(d);
        note(d, "device.unplugged", "control");
        return answer(out, "unplugged");
    }
    if (strcmp(argv[0], "lose-replies") == 0 && argc == 2) {
        long n = strtol(argv[1], NULL, 10);
        if (n < 0 || n > 100)
            return MAMORI_ERR_INVAL;
        d->lose_replies = (int)n;
        snprintf(line, sizeof(line), "losing the next %ld replies", n);
        return answer(out, line);
    }
    if (strcmp(argv[0], "replug") == 0) {
        d->unplugged = false;
        d->backoff = 0;
        if (d->s == NULL)
            schedule(d, 0);
        return answer(out, "replugged");
    }
    if (strcmp(argv[0], "reset") == 0) {
        char p[DEVRUN_PATH_MAX];
        (void)path_in(d, "paired.pub", p, sizeof(p));
        (void)unlink(p);
        d->paired = false;
        note(d, "device.reset", "physical pairing reset (keyed switch)");
        conn_close(d);
        if (!d->unplugged)
            schedule(d, 0);
        return answer(out, "pairing reset: the device accepts a new pairing");
    }
    if (strcmp(argv[0], "log") == 0) {
        uint64_t want = argc > 1 ? strtoull(argv[1], NULL, 10) : DEVRUN_RECORDS_MAX;
        uint64_t first;
        if (want > DEVRUN_RECORDS_MAX)
            want = DEVRUN_RECORDS_MAX;
        first = d->nrec > want ? d->nrec - want : 0;
        for (uint64_t i = first; i < d->nrec; i++) {
            json_t *j = json_pack("{s:s,s:s}", "event", d->rec[i % DEVRUN_RECORDS_MAX].event,
                                  "reason", d->rec[i % DEVRUN_RECORDS_MAX].reason);
            char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
            if (s) {
                (void)answer(out, s);
                (void)answer(out, "\n");
            }
            free(s);
            json_decref(j);
        }
        return 0;
    }
    if (strcmp(argv[0], "count") == 0 && argc == 2) {
        int64_t n = 0;
        int r = audit_count(d->audit, argv[1], &n);
        if (r != 0)
            return r;
        snprintf(line, sizeof(line), "%lld", (long long)n);
        return answer(out, line);
    }
    if (strcmp(argv[0], "flood") == 0 && argc >= 2) {
        /* Stands for a malfunctioning device: COUNT messages as fast as possible. */
        long count = strtol(argv[1], NULL, 10), size = argc > 2 ? strtol(argv[2], NULL, 10) : 16;
        long sent = 0;
        uint8_t *pad;
        if (count < 1 || count > 1000000 || size < 0 || size > MSG_MAX_STRING)
            return MAMORI_ERR_INVAL;
        pad = calloc(1, (size_t)size + 1);
        if (pad == NULL)
            return MAMORI_ERR_NOMEM;
        for (long i = 0; i < count && d->s && session_is_open(d->s); i++) {
            cbor_item_t *b = msg_body_new();
            if (b == NULL || msg_put_bytes(b, "pad", pad, (size_t)size) != 0) {
                if (b)
                    cbor_decref(&b);
                break;
            }
            if (session_send(d->s, evloop_now_ms(), "devsim.flood", b, NULL) != 0) {
                cbor_decref(&b);
                flush(d); /* output full: push what we can */
                if (session_send(d->s, evloop_now_ms(), "devsim.flood", NULL, NULL) != 0)
                    break;
            } else {
                cbor_decref(&b);
            }
            sent++;
            if (i % 64 == 0)
                flush(d);
        }
        free(pad);
        after(d);
        snprintf(line, sizeof(line), "flooded %ld", sent);
        return answer(out, line);
    }
    /* Everything else is the firmware's physical world (scan, weight, tamper...). */
    return d->cls->control(d->fw, argc, argv, out);
}

/* ---------- open/close ---------- */

int devrun_open(const struct devrun_opts *o, struct evloop *l, struct devrun **ret, char *err,
                size_t errlen)
{
    struct devrun *d;
    struct cert c;
    char p[DEVRUN_PATH_MAX];
    int r;
    err[0] = '\0';
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    d->fd = -1;
    d->l = l;
    if ((d->cls = device_class_find(o->kind)) == NULL) {
        snprintf(err, errlen, "unknown device kind '%s'", o->kind);
        r = MAMORI_ERR_NOTFOUND;
        goto fail;
    }
    if (strlen(o->state_dir) >= sizeof(d->dir) - 32) {
        r = MAMORI_ERR_TOOBIG;
        goto fail;
    }
    strcpy(d->dir, o->state_dir);
    if ((r = transport_parse(o->connect, &d->addr)) != 0) {
        snprintf(err, errlen, "bad --connect '%s'", o->connect);
        goto fail;
    }
    session_limits_default(&d->lim);
    if (o->hb_ms > 0)
        d->lim.hb_ms = o->hb_ms;
    (void)path_in(d, "device.key", p, sizeof(p));
    if ((r = keys_load(p, &d->keys)) != 0) {
        snprintf(err, errlen, "%s: no device key (run mamori-devsim init first)", p);
        goto fail;
    }
    (void)path_in(d, "device.cert", p, sizeof(p));
    if ((r = cert_read_file(p, d->cert, sizeof(d->cert), &d->cert_len)) != 0 ||
        (r = cert_decode(d->cert, d->cert_len, &c)) != 0) {
        snprintf(err, errlen, "%s: no valid certificate (issue one with mamori vendor issue)", p);
        goto fail;
    }
    snprintf(d->serial, sizeof(d->serial), "%s", c.serial);
    if ((r = load_pinned(d)) != 0) {
        snprintf(err, errlen, "%s/paired.pub is damaged", d->dir);
        goto fail;
    }
    (void)path_in(d, "device-audit.db", p, sizeof(p));
    if ((r = audit_open(p, &d->audit)) != 0)
        goto fail;
    (void)path_in(d, "devlog.bin", p, sizeof(p));
    if ((r = devlog_file_open(p, d->serial, d->keys, &d->log)) != 0) {
        snprintf(err, errlen, "%s: cannot open the device log", p);
        goto fail;
    }
    (void)path_in(d, "fw", p, sizeof(p));
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
        r = MAMORI_ERR_IO;
        goto fail;
    }
    d->io.ctx = d;
    d->io.emit = io_emit;
    d->io.record = io_record;
    d->io.sign = io_sign;
    d->io.serial = d->serial;
    if ((r = d->cls->create(p, &d->io, &d->fw)) != 0) {
        snprintf(err, errlen, "firmware '%s' failed to start", o->kind);
        goto fail;
    }
    if (o->ctl_path)
        snprintf(p, sizeof(p), "%s", o->ctl_path);
    else
        (void)path_in(d, "ctl.sock", p, sizeof(p));
    if ((r = ctl_new(l, p, ctl_cmd, d, &d->ctl)) != 0) {
        snprintf(err, errlen, "%s: cannot open the control socket", p);
        goto fail;
    }
    note(d, "device.start", d->paired ? "paired" : "unpaired");
    schedule(d, 0);
    *ret = d;
    return 0;
fail:
    devrun_close(d);
    return r;
}

void devrun_close(struct devrun *d)
{
    if (d == NULL)
        return;
    if (d->timer)
        evloop_timer_cancel(d->l, d->timer);
    conn_close(d);
    ctl_free(d->ctl);
    if (d->fw && d->cls)
        d->cls->destroy(d->fw);
    audit_close(d->audit);
    devlog_file_close(d->log);
    keys_free(d->keys);
    free(d);
}
