/*
 * logsync.c: the terminal side of device-log fetching (logsync.h). Owns when
 * and how far each device's log is fetched; verification and storage are the
 * device-log store's (src/audit/devlog.c), identity the registry's.
 */
#include "bus/logsync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/devlog.h"
#include "bus/bus.h"
#include "bus/msg.h"
#include "bus/registry.h"
#include "common/evloop.h"
#include "mamori/err.h"

struct logsync {
    struct logsync_config c;
    uint64_t period_timer, due_timer;
    char due[LOGSYNC_DUE_MAX][CERT_TEXT_MAX + 1];
    size_t ndue;
    bool busy;
};

static const struct audit_actor ls_actor = {.process = "mamori-terminald"};

/* The classes whose logs are fetched without being asked (issue 5: the
 * drawer, change machine, PIN pad, MSR and IC card reader). */
static const char *const log_kinds[] = {"drawer", "changer", "pinpad", "msr", "icreader"};

static bool keeps_log(const char *kind)
{
    for (size_t i = 0; i < sizeof(log_kinds) / sizeof(log_kinds[0]); i++)
        if (strcmp(kind, log_kinds[i]) == 0)
            return true;
    return false;
}

static void on_period(struct evloop *l, void *ctx);

int logsync_new(const struct logsync_config *cfg, struct logsync **ret)
{
    struct logsync *ls;
    if (cfg == NULL || cfg->bus == NULL || cfg->reg == NULL || cfg->store == NULL || cfg->loop == NULL)
        return MAMORI_ERR_INVAL;
    ls = calloc(1, sizeof(*ls));
    if (ls == NULL)
        return MAMORI_ERR_NOMEM;
    ls->c = *cfg;
    if (cfg->period_ms > 0 && evloop_timer(cfg->loop, cfg->period_ms, on_period, ls, &ls->period_timer) != 0) {
        free(ls);
        return MAMORI_ERR_LIMIT;
    }
    *ret = ls;
    return 0;
}

void logsync_free(struct logsync *ls)
{
    if (ls == NULL)
        return;
    evloop_timer_cancel(ls->c.loop, ls->period_timer);
    evloop_timer_cancel(ls->c.loop, ls->due_timer);
    free(ls);
}

/* Feed one reply's entries to the store. */
static int ingest_reply(struct logsync *ls, const cbor_item_t *reply, struct logsync_result *res, size_t *ret_n)
{
    const cbor_item_t *arr = msg_get(reply, "entries");
    size_t n;
    if (arr == NULL || !cbor_isa_array(arr) || !cbor_array_is_definite(arr))
        return MAMORI_ERR_PROTO;
    n = cbor_array_size(arr);
    if (n > LOGSYNC_FETCH_MAX)
        return MAMORI_ERR_PROTO;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *e = cbor_array_get(arr, i); /* new reference */
        enum devlog_verdict v = DEVLOG_MALFORMED;
        int r = MAMORI_ERR_PROTO;
        if (e != NULL && cbor_isa_bytestring(e) && cbor_bytestring_is_definite(e))
            r = devlog_store_ingest(ls->c.store, cbor_bytestring_handle(e), cbor_bytestring_length(e), &v);
        else if (e != NULL)
            r = devlog_store_ingest(ls->c.store, (const uint8_t *)"", 0, &v); /* recorded as malformed */
        if (e != NULL)
            cbor_decref(&e);
        if (r != 0)
            return r;
        res->fetched++;
        if (v == DEVLOG_OK || v == DEVLOG_GAP)
            res->stored++;
        if (v != DEVLOG_OK)
            res->problems++;
    }
    *ret_n = n;
    return 0;
}

static int fetch_locked(struct logsync *ls, const char *serial, struct logsync_result *res)
{
    struct registry_device rd;
    char type[MSG_TYPE_MAX + 1];
    uint64_t from;
    int r;
    if ((r = registry_get(ls->c.reg, serial, &rd)) != 0)
        return r;
    if (rd.removed)
        return MAMORI_ERR_NOTFOUND;
    if (snprintf(type, sizeof(type), "%s.log_fetch", rd.kind) >= (int)sizeof(type))
        return MAMORI_ERR_TOOBIG;
    r = devlog_store_enroll(ls->c.store, serial, rd.log_pub);
    if (r == MAMORI_ERR_EXISTS) {
        /* Known serial: the registry (dual-controlled enrolment) is the
         * authority on its log key; a new key starts a new chain. */
        r = devlog_store_rekey(ls->c.store, serial, rd.log_pub, NULL);
        if (r == MAMORI_ERR_EXISTS)
            r = 0;
    }
    if (r != 0 || (r = devlog_store_position(ls->c.store, serial, &from)) != 0)
        return r;
    for (int round = 0; round < LOGSYNC_ROUNDS_MAX; round++) {
        cbor_item_t *body = msg_body_new(), *reply = NULL;
        int64_t next = 0, end = 0;
        size_t n = 0;
        if (body == NULL || msg_put_int(body, "from_seq", (int64_t)from) != 0 ||
            msg_put_int(body, "max", LOGSYNC_FETCH_MAX) != 0) {
            if (body != NULL)
                cbor_decref(&body);
            return MAMORI_ERR_NOMEM;
        }
        if ((r = bus_call(ls->c.bus, serial, type, body, LOGSYNC_TIMEOUT_MS, &reply)) != 0)
            return r;
        r = ingest_reply(ls, reply, res, &n);
        if (r == 0 && (msg_get_int(reply, "next", &next) != 0 || msg_get_int(reply, "end", &end) != 0 ||
                       next < 0 || end < 0))
            r = MAMORI_ERR_PROTO;
        if (reply != NULL)
            cbor_decref(&reply);
        if (r != 0)
            return r;
        res->end = (uint64_t)end;
        if (n == 0 || (uint64_t)next <= from) {
            uint64_t pos = from;
            (void)devlog_store_position(ls->c.store, serial, &pos);
            if ((uint64_t)end > pos) {
                /* The device says it has more than it gives: withheld. */
                res->problems++;
                (void)audit_event(ls->c.audit, &ls_actor, "devlog.withheld", F_STR("serial", serial),
                                  F_INT("from_seq", (int64_t)pos), F_INT("end", end));
            }
            break;
        }
        from = (uint64_t)next; /* the device's own next: a refused entry is not asked for forever */
        if (from >= (uint64_t)end)
            break;
    }
    return devlog_store_position(ls->c.store, serial, &res->position);
}

int logsync_fetch(struct logsync *ls, const char *serial, struct logsync_result *ret)
{
    struct logsync_result res;
    int r;
    if (ls == NULL || serial == NULL)
        return MAMORI_ERR_INVAL;
    if (ls->busy)
        return MAMORI_ERR_BUSY;
    memset(&res, 0, sizeof(res));
    ls->busy = true;
    r = fetch_locked(ls, serial, &res);
    ls->busy = false;
    if (r == 0 && ret != NULL)
        *ret = res;
    return r;
}

int logsync_fetch_all(struct logsync *ls, uint64_t *ret_problems)
{
    struct bus_device_info *d = calloc(REGISTRY_MAX_DEVICES, sizeof(*d));
    uint64_t problems = 0;
    size_t n = 0;
    int r;
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    r = bus_devices(ls->c.bus, d, REGISTRY_MAX_DEVICES, &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct logsync_result res;
        int fr;
        if (!d[i].attached || !keeps_log(d[i].kind))
            continue;
        fr = logsync_fetch(ls, d[i].serial, &res);
        if (fr == 0)
            problems += res.problems;
        else if (fr == MAMORI_ERR_BUSY || fr == MAMORI_ERR_NOMEM)
            r = fr;
        /* else: offline, no log (UNSUPPORTED), timeout: next time */
    }
    free(d);
    if (r == 0 && ret_problems != NULL)
        *ret_problems = problems;
    return r;
}

static void on_period(struct evloop *l, void *ctx)
{
    struct logsync *ls = ctx;
    ls->period_timer = 0;
    if (!ls->busy)
        (void)logsync_fetch_all(ls, NULL);
    (void)evloop_timer(l, ls->c.period_ms, on_period, ls, &ls->period_timer);
}

static void on_due(struct evloop *l, void *ctx)
{
    struct logsync *ls = ctx;
    (void)l;
    ls->due_timer = 0;
    if (ls->busy) {
        (void)evloop_timer(ls->c.loop, 200, on_due, ls, &ls->due_timer);
        return;
    }
    while (ls->ndue > 0) {
        char serial[CERT_TEXT_MAX + 1];
        memcpy(serial, ls->due[--ls->ndue], sizeof(serial));
        (void)logsync_fetch(ls, serial, NULL);
    }
}

void logsync_on_attach(void *ctx, const char *serial, bool attached, const char *reason)
{
    struct logsync *ls = ctx;
    (void)reason;
    struct registry_device rd;
    if (!attached || ls == NULL || registry_get(ls->c.reg, serial, &rd) != 0 || !keeps_log(rd.kind))
        return;
    for (size_t i = 0; i < ls->ndue; i++)
        if (strcmp(ls->due[i], serial) == 0)
            return;
    if (ls->ndue < LOGSYNC_DUE_MAX)
        snprintf(ls->due[ls->ndue++], sizeof(ls->due[0]), "%s", serial);
    if (ls->due_timer == 0)
        (void)evloop_timer(ls->c.loop, 50, on_due, ls, &ls->due_timer);
}
