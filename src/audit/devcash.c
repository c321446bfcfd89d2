/*
 * devcash.c: cash facts out of verified device-log entries (see devcash.h).
 * Owns the CBOR schema of the cash events and the collection from the store;
 * does not own verification (devlog.c) or matching (reconcile.c).
 */
#include "audit/devcash.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <sqlite3.h>

#include "common/cborsafe.h"
#include "mamori/err.h"


static bool text_is(const cbor_item_t *it, const char *s)
{
    size_t n = strlen(s);
    return cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
           memcmp(cbor_string_handle(it), s, n) == 0;
}

static int denom_of(const cbor_item_t *k)
{
    long v = -1;
    if (cbor_isa_uint(k)) {
        uint64_t u = cbor_get_int(k);
        v = u <= 100000 ? (long)u : -1;
    } else if (cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) > 0 &&
               cbor_string_length(k) <= 5) {
        char tmp[6];
        memcpy(tmp, cbor_string_handle(k), cbor_string_length(k));
        tmp[cbor_string_length(k)] = '\0';
        char *end;
        v = strtol(tmp, &end, 10);
        if (*end != '\0' || tmp[0] < '1' || tmp[0] > '9')
            v = -1;
    }
    for (int d = 0; d < RECON_DENOMS; d++)
        if (recon_denom_value[d] == v)
            return d;
    return -1;
}

static int get_ref(const cbor_item_t *v, struct devcash_fact *f)
{
    if (cborsafe_simple_is(v, CBOR_CTRL_NULL))
        return 0;
    if (!cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) == 0 ||
        cbor_string_length(v) > DEVCASH_REF_MAX || memchr(cbor_string_handle(v), 0, cbor_string_length(v)) != NULL)
        return MAMORI_ERR_INVAL;
    memcpy(f->ref, cbor_string_handle(v), cbor_string_length(v));
    f->ref[cbor_string_length(v)] = '\0';
    f->has_ref = 1;
    return 0;
}

/* Pre-scan before cbor_load, which allocates what a header declares: every
 * declared item needs at least one byte, so the declared items of all
 * containers together may not exceed the input's length; indefinite-length
 * items are refused. Reads headers only (libcbor's streaming decoder). */
struct scan {
    size_t declared, limit;
    bool bad;
};

static void scan_array(void *ctx, size_t n)
{
    struct scan *s = ctx;
    if (n > s->limit || (s->declared += n) > s->limit)
        s->bad = true;
}

static void scan_map(void *ctx, size_t n)
{
    struct scan *s = ctx;
    if (n > s->limit / 2 || (s->declared += 2 * n) > s->limit)
        s->bad = true;
}

static void scan_indef(void *ctx)
{
    ((struct scan *)ctx)->bad = true;
}

static bool cbor_bounded(const uint8_t *p, size_t n)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    struct scan s = {.limit = n};
    size_t off = 0;
    cb.array_start = scan_array;
    cb.map_start = scan_map;
    cb.indef_array_start = scan_indef;
    cb.indef_map_start = scan_indef;
    cb.byte_string_start = scan_indef;
    cb.string_start = scan_indef;
    while (off < n && !s.bad) {
        struct cbor_decoder_result r = cbor_stream_decode(p + off, n - off, &cb, &s);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return false;
        off += r.read;
    }
    return !s.bad;
}

int devcash_classify(const char *event, const uint8_t *details, size_t n, struct devcash_fact *ret)
{
    struct devcash_fact f;
    struct cbor_load_result lr;
    cbor_item_t *m = NULL;
    int r = MAMORI_ERR_INVAL;
    bool seen_denoms = false;
    memset(&f, 0, sizeof(f));
    if (strcmp(event, DEVCASH_EV_DEPOSIT) == 0 || strcmp(event, DEVCASH_EV_DISPENSE) == 0) {
        f.kind = DEVCASH_MOVE;
        f.dir = strcmp(event, DEVCASH_EV_DEPOSIT) == 0 ? RECON_IN : RECON_OUT;
    } else if (strcmp(event, DEVCASH_EV_DRAWER_OPEN) == 0) {
        f.kind = DEVCASH_OPEN;
    } else {
        *ret = f;
        return 0;
    }
    if (n == 0 || n > DEVLOG_DETAILS_MAX || !cbor_bounded(details, n))
        return MAMORI_ERR_INVAL;
    m = cbor_load(details, n, &lr);
    if (m == NULL || lr.error.code != CBOR_ERR_NONE || lr.read != n || !cbor_isa_map(m) ||
        !cbor_map_is_definite(m) || cbor_map_size(m) > DEVCASH_MAX_DETAIL_PAIRS)
        goto out;
    struct cbor_pair *p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        if (text_is(p[i].key, "ref")) {
            if (get_ref(p[i].value, &f) != 0)
                goto out;
        } else if (f.kind == DEVCASH_OPEN && text_is(p[i].key, "manual")) {
            if (cborsafe_simple_is(p[i].value, CBOR_CTRL_TRUE))
                f.manual = 1;
            else if (cborsafe_simple_is(p[i].value, CBOR_CTRL_FALSE))
                f.manual = 0;
            else
                goto out;
        } else if (f.kind == DEVCASH_MOVE && text_is(p[i].key, "denoms")) {
            const cbor_item_t *d = p[i].value;
            if (seen_denoms || !cbor_isa_map(d) || !cbor_map_is_definite(d) || cbor_map_size(d) > RECON_DENOMS)
                goto out;
            seen_denoms = true;
            struct cbor_pair *q = cbor_map_handle(d);
            for (size_t j = 0; j < cbor_map_size(d); j++) {
                int di = denom_of(q[j].key);
                if (di < 0 || !cbor_isa_uint(q[j].value) || cbor_get_int(q[j].value) > 1000000 || f.count[di] != 0)
                    goto out;
                f.count[di] = (int32_t)cbor_get_int(q[j].value);
            }
        }
        /* other keys (txn, amount, ...) are the firmware's own; ignored */
    }
    if (f.kind == DEVCASH_MOVE && !seen_denoms)
        goto out;
    *ret = f;
    r = 0;
out:
    if (m != NULL)
        cbor_decref(&m);
    return r;
}

void devcash_set_free(struct devcash_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n_strings; i++)
        free(set->strings[i]);
    free(set->strings);
    free(set->moves);
    free(set->opens);
    free(set);
}

/* Keep a copy of s in the set; NULL on allocation failure. */
static const char *keep(struct devcash_set *set, const char *s, size_t *cap)
{
    if (set->n_strings == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **p = realloc(set->strings, nc * sizeof(*p));
        if (p == NULL)
            return NULL;
        set->strings = p;
        *cap = nc;
    }
    char *c = strdup(s);
    if (c != NULL)
        set->strings[set->n_strings++] = c;
    return c;
}

int devlog_store_collect(struct devlog_store *s, int64_t from_ns, int64_t to_ns, struct devcash_set **ret)
{
    struct devcash_set *set = calloc(1, sizeof(*set));
    sqlite3_stmt *st = NULL;
    size_t cap_m = 0, cap_o = 0, cap_s = 0;
    int r = MAMORI_ERR_DB, step;
    if (set == NULL)
        return MAMORI_ERR_NOMEM;
    if (sqlite3_prepare_v2(devlog_store_db(s),
                           /* a re-enrolled unit's earlier chain counts for its day too */
                           "SELECT serial, seq, time_ns, event, details FROM devlog_entry"
                           " WHERE time_ns >= ?1 AND time_ns <= ?2 AND event IN (?3, ?4, ?5)"
                           " UNION ALL SELECT serial, seq, time_ns, event, details FROM devlog_entry_retired"
                           " WHERE time_ns >= ?1 AND time_ns <= ?2 AND event IN (?3, ?4, ?5)"
                           " ORDER BY 3, 1, 2",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, from_ns);
    sqlite3_bind_int64(st, 2, to_ns);
    sqlite3_bind_text(st, 3, DEVCASH_EV_DEPOSIT, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, DEVCASH_EV_DISPENSE, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, DEVCASH_EV_DRAWER_OPEN, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct devcash_fact f;
        const char *serial = (const char *)sqlite3_column_text(st, 0);
        const char *event = (const char *)sqlite3_column_text(st, 3);
        if (serial == NULL || event == NULL ||
            devcash_classify(event, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), &f) != 0) {
            set->malformed++;
            continue;
        }
        const char *ser = keep(set, serial, &cap_s), *ref = f.has_ref ? keep(set, f.ref, &cap_s) : NULL;
        if (ser == NULL || (f.has_ref && ref == NULL)) {
            r = MAMORI_ERR_NOMEM;
            goto fail;
        }
        if (f.kind == DEVCASH_MOVE) {
            if (set->n_moves == RECON_MAX_ITEMS) {
                r = MAMORI_ERR_TOOBIG;
                goto fail;
            }
            if (set->n_moves == cap_m) {
                size_t nc = cap_m ? cap_m * 2 : 64;
                struct recon_move *p = realloc(set->moves, nc * sizeof(*p));
                if (p == NULL) {
                    r = MAMORI_ERR_NOMEM;
                    goto fail;
                }
                set->moves = p;
                cap_m = nc;
            }
            struct recon_move *mv = &set->moves[set->n_moves++];
            memset(mv, 0, sizeof(*mv));
            mv->time_ns = sqlite3_column_int64(st, 2);
            mv->dir = f.dir;
            mv->ref = ref;
            mv->serial = ser;
            mv->seq = (uint64_t)sqlite3_column_int64(st, 1);
            memcpy(mv->count, f.count, sizeof(mv->count));
        } else if (f.kind == DEVCASH_OPEN) {
            if (set->n_opens == RECON_MAX_ITEMS) {
                r = MAMORI_ERR_TOOBIG;
                goto fail;
            }
            if (set->n_opens == cap_o) {
                size_t nc = cap_o ? cap_o * 2 : 64;
                struct recon_drawer_open *p = realloc(set->opens, nc * sizeof(*p));
                if (p == NULL) {
                    r = MAMORI_ERR_NOMEM;
                    goto fail;
                }
                set->opens = p;
                cap_o = nc;
            }
            struct recon_drawer_open *o = &set->opens[set->n_opens++];
            memset(o, 0, sizeof(*o));
            o->time_ns = sqlite3_column_int64(st, 2);
            o->ref = ref;
            o->serial = ser;
            o->seq = (uint64_t)sqlite3_column_int64(st, 1);
            o->manual = f.manual;
        }
    }
    if (step != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    *ret = set;
    return 0;
fail:
    sqlite3_finalize(st);
    devcash_set_free(set);
    return r;
}
