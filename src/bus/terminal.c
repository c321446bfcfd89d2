/*
 * terminal.c: the terminald host. Owns config loading and state-dir layout,
 * the control socket's commands and the in-memory event record the control
 * socket shows. Must not own bus mechanics (bus.c) or device semantics.
 */
#include "bus/terminal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <jansson.h>

#include "audit/devlog.h"
#include "bus/ctl.h"
#include "bus/logsync.h"
#include "bus/devapi.h"
#include "bus/devwatch.h"
#include "bus/msgjson.h"
#include "common/hex.h"
#include "common/sandbox.h"
#include "mamori/err.h"

const char terminal_default_config[] =
    "[terminal]\n"
    "id = T1\n"
    "[bus]\n"
    "; comma-separated transports: unix:PATH, tcp:127.0.0.1:PORT, serial:/dev/ttyS0\n"
    "; relative unix paths are inside the state directory\n"
    "listen = unix:bus.sock\n"
    "heartbeat_ms = 2000\n"
    "rate = 500\n"
    "burst = 1000\n"
    "flood_drops = 2000\n"
    "max_msg = 60000\n"
    "handshake_timeout_ms = 5000\n"
    "rekey_ms = 3600000\n"
    "ca_pub_file = manufacturer-ca.pub\n"
    "[devlog]\n"
    "; fetch the devices' signed logs every fetch_ms (and on attach); 0: only on attach/demand\n"
    "fetch_ms = 30000\n"
    "[ctl]\n"
    "socket = ctl.sock\n"
    "[sandbox]\n"
    "; after setup: only the state dir, serial lines, listener dirs and system files\n"
    "enabled = true\n";

struct trec {
    uint64_t seq;
    int64_t t_ms;
    char serial[64];
    char type[MSG_TYPE_MAX + 1];
    json_t *body;
};

struct terminal {
    struct evloop *l;
    char dir[TERMINAL_PATH_MAX];
    struct config *cfg;
    struct keys *keys;
    struct audit *audit;
    struct registry *reg;
    struct bus *bus;
    struct ctl *ctl;
    char id[64];
    char listen_specs[BUS_MAX_LISTEN][TERMINAL_PATH_MAX];
    struct trec *rec; /* ring of TERMINAL_EVENTS_MAX */
    uint64_t nrec;
    int64_t started;
    struct devapi *api;     /* the UPOS device API: owns the bus's event/attach callbacks */
    struct devwatch *watch; /* "watch" control command (devwatch.h) */
    struct devlog_store *devlog; /* devlog.db: the devices' own signed logs (POL-8(1)) */
    struct logsync *logsync;     /* fetching them (logsync.h) */
    bool started_recorded;       /* terminald.start recorded: record the stop too */
};

static void record(struct terminal *t, const char *serial, const char *type, json_t *body)
{
    struct trec *r = &t->rec[t->nrec % TERMINAL_EVENTS_MAX];
    if (r->body)
        json_decref(r->body);
    r->seq = ++t->nrec;
    r->t_ms = evloop_now_ms() - t->started;
    snprintf(r->serial, sizeof(r->serial), "%s", serial);
    snprintf(r->type, sizeof(r->type), "%s", type);
    r->body = body;
}

static void on_event(void *ctx, const char *serial, const char *type, const cbor_item_t *body)
{
    record(ctx, serial, type, msgjson_from_cbor(body));
}

static void on_attach(void *ctx, const char *serial, bool attached, const char *reason)
{
    record(ctx, serial, attached ? "attach" : "detach", json_pack("{s:s}", "reason", reason));
}

static int put_json_line(struct buf *out, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    int r;
    json_decref(j);
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    r = buf_put_bytes(out, s, strlen(s));
    r = r ? r : buf_put_u8(out, '\n');
    free(s);
    return r;
}

static int cmd_request(struct terminal *t, int argc, char **argv, struct buf *out)
{
    cbor_item_t *body = NULL, *reply = NULL;
    int64_t timeout = 3000;
    int r;
    if (argc < 3 || argc > 5)
        return MAMORI_ERR_INVAL;
    if (argc >= 4) {
        json_error_t je;
        json_t *j = json_loads(argv[3], 0, &je);
        if (j == NULL || !json_is_object(j)) {
            json_decref(j);
            return MAMORI_ERR_INVAL;
        }
        r = msgjson_to_cbor(j, &body);
        json_decref(j);
        if (r != 0)
            return r;
    }
    if (argc == 5) {
        char *end;
        timeout = strtoll(argv[4], &end, 10);
        if (*end || timeout < 1 || timeout > 600000) {
            if (body)
                cbor_decref(&body);
            return MAMORI_ERR_INVAL;
        }
    }
    r = bus_call(t->bus, argv[1], argv[2], body, (int)timeout, &reply);
    if (r != 0)
        return r;
    r = put_json_line(out, msgjson_from_cbor(reply));
    if (reply)
        cbor_decref(&reply);
    return r;
}

static int ctl_cmd(void *ctx, int argc, char **argv, struct buf *out)
{
    struct terminal *t = ctx;
    if (strcmp(argv[0], "devices") == 0) {
        struct bus_device_info *d = calloc(REGISTRY_MAX_DEVICES, sizeof(*d));
        size_t n = 0;
        int r;
        if (d == NULL)
            return MAMORI_ERR_NOMEM;
        r = bus_devices(t->bus, d, REGISTRY_MAX_DEVICES, &n);
        for (size_t i = 0; r == 0 && i < n; i++)
            r = put_json_line(out, json_pack("{s:s,s:s,s:s,s:b}", "serial", d[i].serial, "model",
                                             d[i].model, "kind", d[i].kind, "attached",
                                             d[i].attached));
        free(d);
        return r;
    }
    if (strcmp(argv[0], "events") == 0) {
        uint64_t want = TERMINAL_EVENTS_MAX, first;
        int r = 0;
        if (argc > 1)
            want = strtoull(argv[1], NULL, 10);
        if (want > TERMINAL_EVENTS_MAX)
            want = TERMINAL_EVENTS_MAX;
        first = t->nrec > want ? t->nrec - want : 0;
        for (uint64_t s = first; r == 0 && s < t->nrec; s++) {
            struct trec *e = &t->rec[s % TERMINAL_EVENTS_MAX];
            r = put_json_line(out, json_pack("{s:I,s:I,s:s,s:s,s:O?}", "seq", (json_int_t)e->seq,
                                             "t_ms", (json_int_t)e->t_ms, "serial", e->serial,
                                             "type", e->type, "body", e->body));
        }
        return r;
    }
    if (strcmp(argv[0], "audit-count") == 0 && argc == 2) {
        int64_t n = 0;
        char s[32];
        int r = audit_count(t->audit, argv[1], &n);
        if (r != 0)
            return r;
        snprintf(s, sizeof(s), "%lld\n", (long long)n);
        return buf_put_bytes(out, s, strlen(s));
    }
    if (strcmp(argv[0], "request") == 0)
        return cmd_request(t, argc, argv, out);
    if (strcmp(argv[0], "devlog-sync") == 0 && argc <= 2) {
        /* devlog-sync [SERIAL]: fetch the device logs now. */
        struct logsync_result res;
        uint64_t problems = 0;
        int r;
        if (argc == 1) {
            if ((r = logsync_fetch_all(t->logsync, &problems)) != 0)
                return r;
            return put_json_line(out, json_pack("{s:I}", "problems", (json_int_t)problems));
        }
        if ((r = logsync_fetch(t->logsync, argv[1], &res)) != 0)
            return r;
        return put_json_line(out, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "serial", argv[1], "fetched",
                                            (json_int_t)res.fetched, "stored", (json_int_t)res.stored,
                                            "problems", (json_int_t)res.problems, "position",
                                            (json_int_t)res.position, "end", (json_int_t)res.end));
    }
    if (strcmp(argv[0], "watch") == 0)
        return devwatch_ctl(t->watch, argc, argv, out);
    if (strcmp(argv[0], "disconnect") == 0 && argc == 2) {
        bus_disconnect(t->bus, argv[1], "disconnected by operator");
        return buf_put_bytes(out, "ok\n", 3);
    }
    if (strcmp(argv[0], "pubkey") == 0) {
        uint8_t pub[KEYS_DH_LEN];
        char h[2 * KEYS_DH_LEN + 2];
        keys_dh_public(t->keys, pub);
        (void)hex_encode(h, sizeof(h), pub, sizeof(pub));
        strcat(h, "\n");
        return buf_put_bytes(out, h, strlen(h));
    }
    if (strcmp(argv[0], "status") == 0)
        return put_json_line(out, json_pack("{s:s,s:I,s:I}", "terminal", t->id, "attached",
                                            (json_int_t)bus_attached_count(t->bus), "uptime_ms",
                                            (json_int_t)(evloop_now_ms() - t->started)));
    if (strcmp(argv[0], "stop") == 0) {
        evloop_stop(t->l);
        return buf_put_bytes(out, "stopping\n", 9);
    }
    return MAMORI_ERR_UNSUPPORTED;
}

static const struct audit_actor term_actor = {.process = "mamori-terminald"};

#define TERMINAL_CONFIG_MAX (1u << 20) /* configuration file hashed for the record */

/* LC-5: every configuration change is an audit event. The configuration in
 * force (defaults + file) is hashed at start; when the hash differs from the
 * one seen at the previous start (STATE/config.seen), "config.changed" names
 * both. "terminald.start" records the hash every time. */
static void record_start(struct terminal *t, const char *config_path)
{
    uint8_t h[32];
    char hex[65], old[65] = "", p[TERMINAL_PATH_MAX];
    crypto_generichash_state st;
    FILE *f;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)terminal_default_config, strlen(terminal_default_config));
    if (config_path != NULL && (f = fopen(config_path, "rbe")) != NULL) {
        uint8_t buf[4096];
        size_t k, total = 0;
        while ((k = fread(buf, 1, sizeof(buf), f)) > 0 && total < TERMINAL_CONFIG_MAX) {
            crypto_generichash_update(&st, buf, k);
            total += k;
        }
        fclose(f);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    (void)hex_encode(hex, sizeof(hex), h, sizeof(h));
    if (snprintf(p, sizeof(p), "%s/config.seen", t->dir) < (int)sizeof(p)) {
        if ((f = fopen(p, "re")) != NULL) {
            if (fgets(old, sizeof(old), f) == NULL)
                old[0] = '\0';
            fclose(f);
        }
        if (strcmp(old, hex) != 0) {
            if (old[0] != '\0')
                (void)audit_event(t->audit, &term_actor, "config.changed",
                                  F_STR("path", config_path ? config_path : "<defaults>"), F_STR("old", old),
                                  F_STR("new", hex));
            if ((f = fopen(p, "we")) != NULL) {
                fputs(hex, f);
                (void)fflush(f);
                (void)fsync(fileno(f));
                fclose(f);
            }
        }
    }
    (void)audit_event(t->audit, &term_actor, "terminald.start", F_INT("pid", (int64_t)getpid()),
                      F_STR("config", config_path ? config_path : "<defaults>"), F_STR("config_hash", hex));
}

static int in_dir(const struct terminal *t, const char *name, char *out, size_t cap)
{
    int n = name[0] == '/' ? snprintf(out, cap, "%s", name)
                           : snprintf(out, cap, "%s/%s", t->dir, name);
    return n < 0 || (size_t)n >= cap ? MAMORI_ERR_TOOBIG : 0;
}

#define LIM(key, dflt, lo, hi, dst)                                                     \
    do {                                                                                \
        int64_t v_;                                                                     \
        if ((r = config_get_int(t->cfg, "bus", key, dflt, lo, hi, &v_)) != 0)          \
            goto cfgerr;                                                                \
        dst = v_;                                                                       \
    } while (0)

int terminal_open(const char *state_dir, const char *config_path, struct evloop *l,
                  struct terminal **ret, char *err, size_t errlen)
{
    struct terminal *t;
    struct bus_config bc;
    char p[TERMINAL_PATH_MAX], specs[TERMINAL_PATH_MAX];
    int r;
    err[0] = '\0';
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MAMORI_ERR_NOMEM;
    t->l = l;
    t->started = evloop_now_ms();
    t->rec = calloc(TERMINAL_EVENTS_MAX, sizeof(*t->rec));
    if (t->rec == NULL || strlen(state_dir) >= sizeof(t->dir) - 64) {
        r = t->rec ? MAMORI_ERR_TOOBIG : MAMORI_ERR_NOMEM;
        goto fail;
    }
    strcpy(t->dir, state_dir);
    if (mkdir(t->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create state directory", t->dir);
        r = MAMORI_ERR_IO;
        goto fail;
    }
    if ((r = config_new(&t->cfg)) != 0 ||
        (r = config_parse_string(t->cfg, "<defaults>", terminal_default_config)) != 0 ||
        (config_path && (r = config_parse_file(t->cfg, config_path)) != 0))
        goto cfgerr;
    memset(&bc, 0, sizeof(bc));
    session_limits_default(&bc.lim);
    LIM("heartbeat_ms", 2000, 100, 60000, bc.lim.hb_ms);
    LIM("rate", 500, 1, 1000000, bc.lim.rate);
    LIM("burst", 1000, 1, 1000000, bc.lim.burst);
    LIM("flood_drops", 2000, 1, 100000000, bc.lim.flood_drops);
    LIM("max_msg", MSG_MAX_BYTES, 64, MSG_MAX_BYTES, bc.lim.max_msg);
    LIM("handshake_timeout_ms", 5000, 100, 600000, bc.lim.hs_timeout_ms);
    LIM("rekey_ms", 3600000, 1000, 86400000, bc.lim.rekey_ms);
    snprintf(t->id, sizeof(t->id), "%s", config_get_str(t->cfg, "terminal", "id", "T1"));
    if ((r = in_dir(t, "terminal.key", p, sizeof(p))) || (r = keys_load_or_create(p, &t->keys)))
        goto fail;
    if ((r = in_dir(t, "audit.db", p, sizeof(p))) || (r = audit_open(p, &t->audit)))
        goto fail;
    record_start(t, config_path);
    t->started_recorded = true;
    if ((r = in_dir(t, "registry.db", p, sizeof(p))) ||
        (r = registry_open(p, t->audit, &t->reg)))
        goto fail;
    if ((r = in_dir(t, config_get_str(t->cfg, "bus", "ca_pub_file", "manufacturer-ca.pub"), p,
                    sizeof(p))) ||
        (r = hex_read_file(p, bc.ca_pub, 32)) != 0) {
        snprintf(err, errlen, "%s: cannot read the manufacturer CA public key (%s)", p,
                 config_where(t->cfg, "bus", "ca_pub_file") ? config_where(t->cfg, "bus", "ca_pub_file")
                                                             : "<defaults>");
        goto fail;
    }
    snprintf(specs, sizeof(specs), "%s", config_get_str(t->cfg, "bus", "listen", ""));
    for (char *save = NULL, *s = strtok_r(specs, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ')
            s++;
        if (bc.nlisten >= BUS_MAX_LISTEN) {
            snprintf(err, errlen, "%s: too many listen transports", config_where(t->cfg, "bus", "listen"));
            r = MAMORI_ERR_CONFIG;
            goto fail;
        }
        if (strncmp(s, "unix:", 5) == 0 && s[5] != '/') {
            char rel[TERMINAL_PATH_MAX];
            if ((r = in_dir(t, s + 5, rel, sizeof(rel))) != 0)
                goto fail;
            snprintf(t->listen_specs[bc.nlisten], TERMINAL_PATH_MAX, "unix:%.500s", rel);
        } else {
            snprintf(t->listen_specs[bc.nlisten], TERMINAL_PATH_MAX, "%s", s);
        }
        bc.listen[bc.nlisten] = t->listen_specs[bc.nlisten];
        bc.nlisten++;
    }
    bc.loop = l;
    bc.keys = t->keys;
    bc.registry = t->reg;
    bc.audit = t->audit;
    bc.terminal_id = t->id;
    if ((r = bus_new(&bc, &t->bus)) != 0) {
        snprintf(err, errlen, "bus: cannot listen on %s (%s)", config_get_str(t->cfg, "bus", "listen", ""),
                 config_where(t->cfg, "bus", "listen") ? config_where(t->cfg, "bus", "listen") : "");
        goto fail;
    }
    /* The device API takes the bus's callbacks and passes every event and
     * attach change on to the record the control socket shows. */
    if ((r = devapi_new(t->bus, &t->api)) != 0 ||
        (r = devapi_observe(t->api, on_event, on_attach, t)) != 0 ||
        (r = devwatch_new(t->bus, t->api, &t->watch)) != 0)
        goto fail;
    {
        struct logsync_config lc = {.loop = l, .bus = t->bus, .reg = t->reg, .audit = t->audit};
        if ((r = config_get_int(t->cfg, "devlog", "fetch_ms", 30000, 0, 86400000, &lc.period_ms)) != 0)
            goto cfgerr;
        if ((r = in_dir(t, "devlog.db", p, sizeof(p))) || (r = devlog_store_open(p, t->audit, &t->devlog)))
            goto fail;
        lc.store = t->devlog;
        if ((r = logsync_new(&lc, &t->logsync)) != 0 ||
            (r = devapi_observe(t->api, NULL, logsync_on_attach, t->logsync)) != 0)
            goto fail;
    }
    if ((r = in_dir(t, config_get_str(t->cfg, "ctl", "socket", "ctl.sock"), p, sizeof(p))) ||
        (r = ctl_new(l, p, ctl_cmd, t, &t->ctl)) != 0) {
        snprintf(err, errlen, "%s: cannot open the control socket", p);
        goto fail;
    }
    *ret = t;
    return 0;
cfgerr:
    snprintf(err, errlen, "%s", config_error(t->cfg));
fail:
    terminal_close(t);
    return r;
}

void terminal_close(struct terminal *t)
{
    if (t == NULL)
        return;
    ctl_free(t->ctl);
    if (t->started_recorded)
        (void)audit_event(t->audit, &term_actor, "terminald.stop", F_INT("pid", (int64_t)getpid()),
                          F_INT("uptime_ms", evloop_now_ms() - t->started));
    devwatch_free(t->watch);
    logsync_free(t->logsync);
    devapi_free(t->api);
    bus_free(t->bus);
    devlog_store_close(t->devlog);
    registry_close(t->reg);
    audit_close(t->audit);
    keys_free(t->keys);
    config_free(t->cfg);
    if (t->rec)
        for (size_t i = 0; i < TERMINAL_EVENTS_MAX; i++)
            if (t->rec[i].body)
                json_decref(t->rec[i].body);
    free(t->rec);
    free(t);
}

struct bus *terminal_bus(struct terminal *t)
{
    return t->bus;
}

struct devapi *terminal_devapi(struct terminal *t)
{
    return t->api;
}

int terminal_restrict(struct terminal *t, char *err, size_t errlen)
{
    /* After setup terminald reaches only its state directory, its serial
     * lines, the directories of unix listeners outside the state directory,
     * [sandbox] rw/ro extra paths, and the read-only system files. */
    const char *rw[SANDBOX_MAX_PATHS], *ro[SANDBOX_MAX_PATHS];
    char dirs[BUS_MAX_LISTEN][TERMINAL_PATH_MAX];
    size_t nrw = 0, nro = 0;
    bool on = true;
    int r;
    if ((r = config_get_bool(t->cfg, "sandbox", "enabled", true, &on)) != 0) {
        snprintf(err, errlen, "%s", config_error(t->cfg));
        return r;
    }
    if (!on) {
        /* PRE-5: running without the sandbox is a security-relevant state,
         * named in the audit log, not only visible as a new config hash. */
        (void)audit_event(t->audit, &term_actor, "terminald.sandbox", F_STR("state", "disabled"),
                          F_STR("reason", "[sandbox] enabled = false"));
        return 0;
    }
    rw[nrw++] = t->dir;
    for (size_t i = 0; i < BUS_MAX_LISTEN && t->listen_specs[i][0]; i++) {
        const char *s = t->listen_specs[i];
        if (strncmp(s, "serial:", 7) == 0) {
            rw[nrw++] = s + 7;
        } else if (strncmp(s, "unix:", 5) == 0) {
            char *slash;
            snprintf(dirs[i], sizeof(dirs[i]), "%s", s + 5);
            slash = strrchr(dirs[i], '/');
            if (slash != NULL && slash != dirs[i]) {
                *slash = '\0';
                rw[nrw++] = dirs[i];
            }
        }
    }
    {
        const char *extra_rw = config_get_str(t->cfg, "sandbox", "rw", NULL);
        const char *extra_ro = config_get_str(t->cfg, "sandbox", "ro", NULL);
        static const char *const sys[] = {"/usr", "/lib", "/lib64", "/etc"};
        if (extra_rw && nrw < SANDBOX_MAX_PATHS - 4)
            rw[nrw++] = extra_rw;
        for (size_t i = 0; i < 4; i++)
            ro[nro++] = sys[i];
        if (extra_ro)
            ro[nro++] = extra_ro;
    }
    r = sandbox_restrict(rw, nrw, ro, nro);
    if (r == MAMORI_ERR_UNSUPPORTED) {
        /* Best effort on kernels without Landlock, but recorded (PRE-5). */
        (void)audit_event(t->audit, &term_actor, "terminald.sandbox", F_STR("state", "unsupported"),
                          F_STR("reason", "kernel without Landlock"));
        return 0;
    }
    if (r != 0) {
        snprintf(err, errlen, "cannot restrict the process (Landlock)");
        return r;
    }
    (void)audit_event(t->audit, &term_actor, "terminald.sandbox", F_STR("state", "restricted"),
                      F_INT("rw_paths", (int64_t)nrw), F_INT("ro_paths", (int64_t)nro));
    return 0;
}
/* For the register hosted by mamori-terminald (src/pos/service.h). */
struct config *terminal_config(struct terminal *t) { return t->cfg; }
struct audit *terminal_audit(struct terminal *t) { return t->audit; }
struct logsync *terminal_logsync(struct terminal *t) { return t->logsync; }
struct devlog_store *terminal_devlog(struct terminal *t) { return t->devlog; }
const char *terminal_dir(const struct terminal *t) { return t->dir; }
