/*
 * zrecon.c: the Z report's cash reconciliation (zrecon.h). Owns collecting
 * the inputs (journal, device-log store, cassette counts, sign-on sessions)
 * and the period bookkeeping; the comparison itself is src/audit/reconcile.c.
 */
#include "pos/zrecon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "audit/devcash.h"
#include "audit/devlog.h"
#include "bus/bus.h"
#include "bus/logsync.h"
#include "bus/msg.h"
#include "bus/registry.h"
#include "mamori/err.h"
#include "pos/busdev.h"
#include "pos/journal.h"

struct jrows {
    const char *terminal;
    int64_t from_s, to_s;
    struct recon_move *moves;
    size_t n_moves, cap_moves;
    struct recon_drawer_open *opens;
    size_t n_opens, cap_opens;
    char **strs;
    size_t n_strs, cap_strs;
};

static char *keep(struct jrows *j, const char *s)
{
    char *c;
    if (j->n_strs == j->cap_strs) {
        size_t nc = j->cap_strs ? 2 * j->cap_strs : 64;
        char **p = realloc(j->strs, nc * sizeof(*p));
        if (p == NULL)
            return NULL;
        j->strs = p;
        j->cap_strs = nc;
    }
    c = strdup(s);
    if (c != NULL)
        j->strs[j->n_strs++] = c;
    return c;
}

static void greedy(int64_t amount, int32_t count[RECON_DENOMS])
{
    for (int i = 0; i < RECON_DENOMS; i++) {
        count[i] = (int32_t)(amount / recon_denom_value[i]);
        amount -= (int64_t)count[i] * recon_denom_value[i];
    }
}

static int read_journal(void *ctx, sqlite3 *db)
{
    struct jrows *j = ctx;
    sqlite3_stmt *st;
    int r = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT idem, kind, result, time FROM cash_cmds WHERE terminal=?1 AND state=1"
                           " AND time >= ?2 AND time <= ?3 ORDER BY time, rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, j->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, j->from_s);
    sqlite3_bind_int64(st, 3, j->to_s);
    while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *idem = (const char *)sqlite3_column_text(st, 0), *kind = (const char *)sqlite3_column_text(st, 1);
        int64_t result = sqlite3_column_int64(st, 2), t_ns = sqlite3_column_int64(st, 3) * 1000000000;
        char *ref;
        if (idem == NULL || kind == NULL || (ref = keep(j, idem)) == NULL) {
            r = MAMORI_ERR_NOMEM;
            break;
        }
        if (strcmp(kind, "drawer") == 0) {
            if (j->n_opens == j->cap_opens) {
                size_t nc = j->cap_opens ? 2 * j->cap_opens : 64;
                struct recon_drawer_open *p = nc > RECON_MAX_ITEMS ? NULL : realloc(j->opens, nc * sizeof(*p));
                if (p == NULL) {
                    r = MAMORI_ERR_TOOBIG;
                    break;
                }
                j->opens = p;
                j->cap_opens = nc;
            }
            j->opens[j->n_opens++] = (struct recon_drawer_open){.time_ns = t_ns, .ref = ref};
        } else if (strcmp(kind, "dispense") == 0 || strcmp(kind, "deposit") == 0) {
            struct recon_move *m;
            if (result <= 0)
                continue; /* nothing moved */
            if (j->n_moves == j->cap_moves) {
                size_t nc = j->cap_moves ? 2 * j->cap_moves : 64;
                struct recon_move *p = nc > RECON_MAX_ITEMS ? NULL : realloc(j->moves, nc * sizeof(*p));
                if (p == NULL) {
                    r = MAMORI_ERR_TOOBIG;
                    break;
                }
                j->moves = p;
                j->cap_moves = nc;
            }
            m = &j->moves[j->n_moves++];
            memset(m, 0, sizeof(*m));
            m->time_ns = t_ns;
            m->dir = strcmp(kind, "deposit") == 0 ? RECON_IN : RECON_OUT;
            m->ref = ref;
            greedy(result, m->count);
        }
    }
    sqlite3_finalize(st);
    return r;
}

static void free_jrows(struct jrows *j)
{
    for (size_t i = 0; i < j->n_strs; i++)
        free(j->strs[i]);
    free(j->strs);
    free(j->moves);
    free(j->opens);
}

static int64_t value_of(const int32_t c[RECON_DENOMS])
{
    int64_t v = 0;
    for (int i = 0; i < RECON_DENOMS; i++)
        v += (int64_t)c[i] * recon_denom_value[i];
    return v;
}

/* A journal command whose device entry (same ref, same direction) has the
 * same value takes the device's denominations (see zrecon.h). */
static void adopt_denoms(struct jrows *j, const struct devcash_set *dev)
{
    for (size_t i = 0; i < j->n_moves; i++)
        for (size_t k = 0; k < dev->n_moves; k++) {
            const struct recon_move *d = &dev->moves[k];
            if (d->ref != NULL && strcmp(d->ref, j->moves[i].ref) == 0 && d->dir == j->moves[i].dir &&
                value_of(d->count) == value_of(j->moves[i].count)) {
                memcpy(j->moves[i].count, d->count, sizeof(d->count));
                break;
            }
        }
}

/* ---- period bookkeeping (table zrecon_z in the device-log store) ---- */

static int last_z(sqlite3 *db, int64_t *ret_time, int64_t counts[RECON_DENOMS], int *ret_has_counts)
{
    sqlite3_stmt *st;
    int r = 0;
    *ret_time = 0;
    *ret_has_counts = 0;
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS zrecon_z (z_no INTEGER NOT NULL, time_ns INTEGER NOT NULL,"
                     " counts BLOB)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT time_ns, counts FROM zrecon_z ORDER BY time_ns DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ret_time = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == (int)(RECON_DENOMS * sizeof(int64_t))) {
            memcpy(counts, sqlite3_column_blob(st, 1), RECON_DENOMS * sizeof(int64_t));
            *ret_has_counts = 1;
        }
    }
    sqlite3_finalize(st);
    return r;
}

static int save_z(sqlite3 *db, int64_t z_no, int64_t t, const int64_t counts[RECON_DENOMS], int has)
{
    sqlite3_stmt *st;
    int r;
    if (sqlite3_prepare_v2(db, "INSERT INTO zrecon_z(z_no, time_ns, counts) VALUES(?,?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_int64(st, 1, z_no);
    sqlite3_bind_int64(st, 2, t);
    if (has)
        sqlite3_bind_blob(st, 3, counts, (int)(RECON_DENOMS * sizeof(int64_t)), SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_finalize(st);
    return r;
}

/* ---- devices on the bus ---- */

static int find_kind(struct bus *b, const char *kind, char serials[][64], size_t cap, size_t *ret_n)
{
    struct bus_device_info *d = calloc(REGISTRY_MAX_DEVICES, sizeof(*d));
    size_t n = 0, k = 0;
    int r;
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    r = bus_devices(b, d, REGISTRY_MAX_DEVICES, &n);
    for (size_t i = 0; r == 0 && i < n && k < cap; i++)
        if (strcmp(d[i].kind, kind) == 0)
            snprintf(serials[k++], 64, "%s", d[i].serial);
    free(d);
    if (r == 0)
        *ret_n = k;
    return r;
}

_Static_assert(RECON_DENOMS == POSDEV_DENOMS, "one denomination order");

static int changer_counts(struct bus *b, const char *serial, int64_t out[RECON_DENOMS])
{
    cbor_item_t *reply = NULL;
    int r = bus_call(b, serial, "changer.counts", NULL, 3000, &reply);
    if (r != 0)
        return r;
    r = busdev_counts_read(reply, out);
    cbor_decref(&reply);
    return r;
}

/* ---- sign-on sessions from the audit log ---- */

static int read_sessions(const char *path, int64_t from, int64_t to, struct recon_session **ret, size_t *ret_n,
                         char ***ret_strs)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct recon_session *s = calloc(ZRECON_SESSIONS_MAX, sizeof(*s));
    char **strs = calloc(ZRECON_SESSIONS_MAX, sizeof(*strs));
    size_t n = 0;
    int r = 0;
    if (s == NULL || strs == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if (path == NULL)
        goto done;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT time_ns, operator, event FROM audit WHERE event IN ('signon','signoff')"
                           " AND operator IS NOT NULL AND time_ns <= ?1 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, to);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(st, 0);
        const char *op = (const char *)sqlite3_column_text(st, 1), *ev = (const char *)sqlite3_column_text(st, 2);
        if (op == NULL || ev == NULL)
            continue;
        if (strcmp(ev, "signon") == 0) {
            if (n == ZRECON_SESSIONS_MAX) { /* keep the newest */
                free(strs[0]);
                memmove(s, s + 1, (n - 1) * sizeof(*s));
                memmove(strs, strs + 1, (n - 1) * sizeof(*strs));
                n--;
            }
            if ((strs[n] = strdup(op)) == NULL) {
                r = MAMORI_ERR_NOMEM;
                goto out;
            }
            s[n] = (struct recon_session){.operator_id = strs[n], .from_ns = t, .to_ns = to};
            n++;
        } else {
            for (size_t i = n; i-- > 0;)
                if (strcmp(s[i].operator_id, op) == 0 && s[i].to_ns == to) {
                    s[i].to_ns = t;
                    break;
                }
        }
    }
    /* only sessions that overlap the period */
    {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i].to_ns < from) {
                free(strs[i]);
                continue;
            }
            s[k] = s[i];
            strs[k] = strs[i];
            k++;
        }
        n = k;
    }
done:
    *ret = s;
    *ret_n = n;
    *ret_strs = strs;
    s = NULL;
    strs = NULL;
out:
    if (strs != NULL)
        for (size_t i = 0; i < n; i++)
            free(strs[i]);
    free(strs);
    free(s);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

int zrecon_run(const struct zrecon_src *src, int64_t z_no, struct zrecon_result *ret)
{
    struct jrows j;
    struct devcash_set *dev = NULL;
    struct recon_session *sess = NULL;
    char **sess_strs = NULL, serials[8][64];
    size_t n_sess = 0, n;
    struct recon_counts start, end;
    struct recon_input in;
    struct timespec ts;
    int has_start = 0, has_end = 0, r;
    sqlite3 *db;
    if (src == NULL || src->journal == NULL || src->store == NULL || src->bus == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    memset(&j, 0, sizeof(j));
    memset(&start, 0, sizeof(start));
    memset(&end, 0, sizeof(end));
    db = devlog_store_db(src->store);
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, from = 0;
    if ((r = last_z(db, &from, start.count, &has_start)) != 0)
        return r;
    start.time_ns = from;
    /* Fetch the cash devices' logs now and ask the change machine its counts. */
    if ((r = find_kind(src->bus, "drawer", serials, 8, &n)) != 0)
        return r;
    for (size_t i = 0; i < n && src->logsync; i++)
        (void)logsync_fetch(src->logsync, serials[i], NULL); /* offline: what is stored */
    if ((r = find_kind(src->bus, "changer", serials, 8, &n)) != 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (src->logsync)
            (void)logsync_fetch(src->logsync, serials[i], NULL);
        if (!has_end && changer_counts(src->bus, serials[i], end.count) == 0)
            has_end = 1;
    }
    end.time_ns = now;
    j.terminal = src->terminal;
    j.from_s = from / 1000000000;
    j.to_s = now / 1000000000 + 1;
    if ((r = journal_tx(src->journal, read_journal, &j)) != 0 ||
        (r = devlog_store_collect(src->store, from, now, &dev)) != 0 ||
        (r = read_sessions(src->audit_path, from, now, &sess, &n_sess, &sess_strs)) != 0)
        goto out;
    adopt_denoms(&j, dev);
    memset(&in, 0, sizeof(in));
    in.journal = j.moves;
    in.n_journal = j.n_moves;
    in.device = dev->moves;
    in.n_device = dev->n_moves;
    in.drawer_log = dev->opens;
    in.n_drawer_log = dev->n_opens;
    in.drawer_cmds = j.opens;
    in.n_drawer_cmds = j.n_opens;
    in.sessions = sess;
    in.n_sessions = n_sess;
    in.start = has_start && has_end ? &start : NULL;
    in.end = has_start && has_end ? &end : NULL;
    memset(ret, 0, sizeof(*ret));
    if ((r = recon_run(&in, src->audit, &ret->report)) != 0)
        goto out;
    ret->from_ns = from;
    ret->to_ns = now;
    ret->counts_checked = has_start && has_end;
    r = save_z(db, z_no, now, end.count, has_end);
out:
    if (sess_strs != NULL)
        for (size_t i = 0; i < n_sess; i++)
            free(sess_strs[i]);
    free(sess_strs);
    free(sess);
    devcash_set_free(dev);
    free_jrows(&j);
    return r;
}

json_t *zrecon_json(const struct zrecon_result *r)
{
    json_t *o = json_object(), *arr = json_array();
    struct buf text;
    if (o == NULL || arr == NULL) {
        json_decref(o);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < r->report.n; i++) {
        const struct recon_finding *f = &r->report.f[i];
        json_t *ops = json_array(), *fj;
        for (size_t k = 0; k < f->n_operators; k++)
            json_array_append_new(ops, json_string(f->operators[k]));
        fj = json_pack("{s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:o}", "kind", recon_kind_name(f->kind), "from_ns",
                       (json_int_t)f->from_ns, "to_ns", (json_int_t)f->to_ns, "amount", (json_int_t)f->amount,
                       "ref", f->ref, "serial", f->serial, "seq", (json_int_t)f->seq, "operators", ops);
        if (fj != NULL)
            json_array_append_new(arr, fj);
    }
    json_object_set_new(o, "from_ns", json_integer(r->from_ns));
    json_object_set_new(o, "to_ns", json_integer(r->to_ns));
    json_object_set_new(o, "matched", json_integer((json_int_t)r->report.matched));
    json_object_set_new(o, "counts_checked", json_boolean(r->counts_checked));
    json_object_set_new(o, "discrepancies", arr);
    buf_init(&text, 1u << 20);
    if (recon_report_text(&r->report, &text) == 0 && buf_put_u8(&text, 0) == 0)
        json_object_set_new(o, "text", json_string((const char *)buf_ptr(&text)));
    buf_free(&text);
    return o;
}
