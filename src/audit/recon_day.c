/*
 * recon_day.c: the JSON day file of reconcile (see recon_day.h). Owns the
 * file format and its limits; the reconciliation itself is reconcile.c.
 */
#include "audit/recon_day.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mamori/err.h"

#define RECON_DAY_STR_MAX 64

struct recon_day {
    json_t *root; /* owns every string the input points to */
    struct recon_move *journal, *device;
    struct recon_drawer_open *dlog, *dcmd;
    struct recon_session *sessions;
    struct recon_counts start, end;
    struct recon_input in;
};

static int get_time(json_t *v, int64_t *ret)
{
    if (json_is_integer(v)) {
        json_int_t s = json_integer_value(v);
        if (s < 0 || s > INT64_C(9000000000))
            return MAMORI_ERR_INVAL;
        *ret = (int64_t)s * 1000000000;
        return 0;
    }
    if (json_is_string(v)) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (end == NULL || *end != '\0')
            return MAMORI_ERR_INVAL;
        time_t t = timegm(&tm);
        if (t < 0)
            return MAMORI_ERR_INVAL;
        *ret = (int64_t)t * 1000000000;
        return 0;
    }
    return MAMORI_ERR_INVAL;
}

/* An optional string (absent or null: NULL). */
static int get_str(json_t *o, const char *k, const char **ret)
{
    json_t *v = json_object_get(o, k);
    if (v == NULL || json_is_null(v)) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > RECON_DAY_STR_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
        return MAMORI_ERR_INVAL;
    *ret = json_string_value(v);
    return 0;
}

static int get_seq(json_t *o, uint64_t *ret)
{
    json_t *v = json_object_get(o, "seq");
    if (v == NULL) {
        *ret = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return MAMORI_ERR_INVAL;
    *ret = (uint64_t)json_integer_value(v);
    return 0;
}

static int denom_index(const char *key)
{
    char *end;
    long v = strtol(key, &end, 10);
    if (*key == '\0' || *end != '\0')
        return -1;
    for (int d = 0; d < RECON_DENOMS; d++)
        if (recon_denom_value[d] == v)
            return d;
    return -1;
}

static int get_denoms(json_t *o, const char *k, int64_t *out64, int32_t *out32)
{
    json_t *m = json_object_get(o, k), *v;
    const char *key;
    if (!json_is_object(m))
        return MAMORI_ERR_INVAL;
    json_object_foreach(m, key, v) {
        int d = denom_index(key);
        if (d < 0 || !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
            return MAMORI_ERR_INVAL;
        if (out64)
            out64[d] = (int64_t)json_integer_value(v);
        if (out32)
            out32[d] = (int32_t)json_integer_value(v);
    }
    return 0;
}

static int get_list(json_t *root, const char *k, json_t **ret, size_t *ret_n)
{
    json_t *a = json_object_get(root, k);
    if (a == NULL) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    if (!json_is_array(a))
        return MAMORI_ERR_INVAL;
    if (json_array_size(a) > RECON_MAX_ITEMS)
        return MAMORI_ERR_TOOBIG;
    *ret = a;
    *ret_n = json_array_size(a);
    return 0;
}

static int get_moves(json_t *root, const char *k, bool device, struct recon_move **ret, size_t *ret_n)
{
    json_t *a, *v;
    size_t n, i;
    int r;
    if ((r = get_list(root, k, &a, &n)) != 0)
        return r;
    struct recon_move *m = calloc(n + 1, sizeof(*m));
    if (m == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = m;
    *ret_n = n;
    for (i = 0; i < n; i++) {
        v = json_array_get(a, i);
        const char *dir;
        if (!json_is_object(v) || (r = get_time(json_object_get(v, "time"), &m[i].time_ns)) != 0 ||
            (r = get_str(v, "dir", &dir)) != 0 || dir == NULL || (r = get_str(v, "ref", &m[i].ref)) != 0 ||
            (r = get_denoms(v, "denoms", NULL, m[i].count)) != 0)
            return r ? r : MAMORI_ERR_INVAL;
        if (strcmp(dir, "in") == 0)
            m[i].dir = RECON_IN;
        else if (strcmp(dir, "out") == 0)
            m[i].dir = RECON_OUT;
        else
            return MAMORI_ERR_INVAL;
        if (device) {
            if ((r = get_str(v, "serial", &m[i].serial)) != 0 || (r = get_seq(v, &m[i].seq)) != 0)
                return r;
        } else if ((r = get_str(v, "operator", &m[i].operator_id)) != 0) {
            return r;
        }
    }
    return 0;
}

static int get_opens(json_t *root, const char *k, struct recon_drawer_open **ret, size_t *ret_n)
{
    json_t *a, *v;
    size_t n;
    int r;
    if ((r = get_list(root, k, &a, &n)) != 0)
        return r;
    struct recon_drawer_open *o = calloc(n + 1, sizeof(*o));
    if (o == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = o;
    *ret_n = n;
    for (size_t i = 0; i < n; i++) {
        v = json_array_get(a, i);
        if (!json_is_object(v) || (r = get_time(json_object_get(v, "time"), &o[i].time_ns)) != 0 ||
            (r = get_str(v, "ref", &o[i].ref)) != 0 || (r = get_str(v, "operator", &o[i].operator_id)) != 0 ||
            (r = get_str(v, "serial", &o[i].serial)) != 0 || (r = get_seq(v, &o[i].seq)) != 0)
            return r ? r : MAMORI_ERR_INVAL;
        json_t *man = json_object_get(v, "manual");
        if (man != NULL && !json_is_boolean(man))
            return MAMORI_ERR_INVAL;
        o[i].manual = json_is_true(man);
    }
    return 0;
}

static int get_counts(json_t *root, const char *k, struct recon_counts *c, const struct recon_counts **ret)
{
    json_t *o = json_object_get(root, k);
    int r;
    if (o == NULL) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_object(o) || (r = get_time(json_object_get(o, "time"), &c->time_ns)) != 0 ||
        (r = get_denoms(o, "counts", c->count, NULL)) != 0)
        return MAMORI_ERR_INVAL;
    *ret = c;
    return 0;
}

int recon_day_parse(const char *json, size_t n, struct recon_day **ret)
{
    struct recon_day *d;
    json_error_t err;
    json_t *a;
    size_t ns;
    int r;
    if (n > RECON_DAY_MAX_BYTES)
        return MAMORI_ERR_TOOBIG;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    d->root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(d->root)) {
        r = MAMORI_ERR_INVAL;
        goto fail;
    }
    if ((r = get_moves(d->root, "journal", false, &d->journal, &d->in.n_journal)) ||
        (r = get_moves(d->root, "device", true, &d->device, &d->in.n_device)) ||
        (r = get_opens(d->root, "drawer_log", &d->dlog, &d->in.n_drawer_log)) ||
        (r = get_opens(d->root, "drawer_cmds", &d->dcmd, &d->in.n_drawer_cmds)) ||
        (r = get_counts(d->root, "start", &d->start, &d->in.start)) ||
        (r = get_counts(d->root, "end", &d->end, &d->in.end)) || (r = get_list(d->root, "sessions", &a, &ns)))
        goto fail;
    d->sessions = calloc(ns + 1, sizeof(*d->sessions));
    if (d->sessions == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < ns; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_object(v) || (r = get_str(v, "operator", &d->sessions[i].operator_id)) != 0 ||
            (r = get_time(json_object_get(v, "from"), &d->sessions[i].from_ns)) != 0 ||
            (r = get_time(json_object_get(v, "to"), &d->sessions[i].to_ns)) != 0) {
            r = r ? r : MAMORI_ERR_INVAL;
            goto fail;
        }
    }
    d->in.journal = d->journal;
    d->in.device = d->device;
    d->in.drawer_log = d->dlog;
    d->in.drawer_cmds = d->dcmd;
    d->in.sessions = d->sessions;
    d->in.n_sessions = ns;
    *ret = d;
    return 0;
fail:
    recon_day_free(d);
    return r;
}

const struct recon_input *recon_day_input(const struct recon_day *day)
{
    return &day->in;
}

void recon_day_free(struct recon_day *d)
{
    if (d == NULL)
        return;
    json_decref(d->root);
    free(d->journal);
    free(d->device);
    free(d->dlog);
    free(d->dcmd);
    free(d->sessions);
    free(d);
}
