/*
 * reconcile.c: cash reconciliation of journal, device logs and cassette
 * counts (see reconcile.h). Owns the matching rules, the windows and the
 * findings; owns no storage (the register feeds it and prints the result).
 *
 * Matching: a device movement and a journal movement match when they carry
 * the same ref and direction (each used once). Anything unmatched, or matched
 * with other denominations, is a finding. Windows run from the last matched
 * movement before the finding to the first after it, so they name the span in
 * which the unexplained cash moved.
 */
#include "audit/reconcile.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "mamori/err.h"

const int32_t recon_denom_value[RECON_DENOMS] = {10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1};

const char *recon_kind_name(enum recon_kind k)
{
    switch (k) {
    case RECON_DEVICE_NOT_IN_JOURNAL: return "device-not-in-journal";
    case RECON_JOURNAL_NOT_IN_DEVICE: return "journal-not-in-device";
    case RECON_AMOUNT_MISMATCH: return "amount-mismatch";
    case RECON_COUNT_MISMATCH: return "count-mismatch";
    case RECON_DRAWER_UNCOMMANDED: return "drawer-uncommanded";
    }
    return "?";
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct ctx {
    const struct recon_input *in;
    struct recon_report *rep;
    int64_t *good; /* sorted times of reconciled movements */
    size_t n_good;
    int64_t day_from, day_to;
};

static void window(const struct ctx *c, int64_t t, int64_t *from, int64_t *to)
{
    int64_t lo = c->day_from < t ? c->day_from : t, hi = c->day_to > t ? c->day_to : t;
    for (size_t i = 0; i < c->n_good; i++) {
        if (c->good[i] <= t)
            lo = c->good[i];
        else {
            hi = c->good[i];
            break;
        }
    }
    *from = lo;
    *to = hi;
}

static void add_operator(struct recon_finding *f, const char *op)
{
    if (op == NULL || f->n_operators >= RECON_MAX_OPERATORS)
        return;
    for (size_t i = 0; i < f->n_operators; i++)
        if (strcmp(f->operators[i], op) == 0)
            return;
    snprintf(f->operators[f->n_operators++], sizeof(f->operators[0]), "%s", op);
}

static struct recon_finding *finding(struct ctx *c, enum recon_kind kind, int64_t t)
{
    struct recon_report *r = c->rep;
    if (r->n >= RECON_MAX_FINDINGS) {
        r->truncated = 1;
        return NULL;
    }
    struct recon_finding *f = &r->f[r->n++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    window(c, t, &f->from_ns, &f->to_ns);
    /* who was signed on in the window; else who moved cash in it */
    for (size_t i = 0; i < c->in->n_sessions; i++) {
        const struct recon_session *s = &c->in->sessions[i];
        if (s->from_ns <= f->to_ns && s->to_ns >= f->from_ns)
            add_operator(f, s->operator_id);
    }
    if (f->n_operators == 0)
        for (size_t i = 0; i < c->in->n_journal; i++) {
            const struct recon_move *m = &c->in->journal[i];
            if (m->time_ns >= f->from_ns && m->time_ns <= f->to_ns)
                add_operator(f, m->operator_id);
        }
    return f;
}

static void set_amount(struct recon_finding *f)
{
    f->amount = 0;
    for (int d = 0; d < RECON_DENOMS; d++)
        f->amount += f->delta[d] * recon_denom_value[d];
}

static bool same_ref(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int check_moves(const struct recon_move *m, size_t n)
{
    if (n > RECON_MAX_ITEMS || (n > 0 && m == NULL))
        return MAMORI_ERR_TOOBIG;
    for (size_t i = 0; i < n; i++) {
        if (m[i].dir != RECON_IN && m[i].dir != RECON_OUT)
            return MAMORI_ERR_INVAL;
        for (int d = 0; d < RECON_DENOMS; d++)
            if (m[i].count[d] < 0 || m[i].count[d] > 1000000)
                return MAMORI_ERR_INVAL;
    }
    return 0;
}

static void record(struct audit *a, const struct recon_finding *f)
{
    struct audit_actor self = {.process = "reconcile"};
    char ops[RECON_MAX_OPERATORS * 66] = "";
    for (size_t i = 0; i < f->n_operators; i++) {
        if (i)
            strcat(ops, ",");
        strcat(ops, f->operators[i]);
    }
    (void)audit_event(a, &self, "cash.discrepancy", F_STR("kind", recon_kind_name(f->kind)),
                      F_INT("from_ns", f->from_ns), F_INT("to_ns", f->to_ns), F_AMOUNT("amount", f->amount),
                      F_STR("ref", f->ref), F_STR("serial", f->serial), F_INT("seq", (int64_t)f->seq),
                      F_STR("operators", ops));
}

int recon_run(const struct recon_input *in, struct audit *audit, struct recon_report *ret)
{
    struct ctx c = {.in = in, .rep = ret};
    bool *jused = NULL, *dmatch = NULL, *cmd_used = NULL;
    int r;
    if (in == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = check_moves(in->journal, in->n_journal)) || (r = check_moves(in->device, in->n_device)))
        return r;
    if (in->n_drawer_log > RECON_MAX_ITEMS || in->n_drawer_cmds > RECON_MAX_ITEMS ||
        in->n_sessions > RECON_MAX_ITEMS)
        return MAMORI_ERR_TOOBIG;
    memset(ret, 0, sizeof(*ret));
    jused = calloc(in->n_journal + 1, sizeof(*jused));
    dmatch = calloc(in->n_device + 1, sizeof(*dmatch));
    cmd_used = calloc(in->n_drawer_cmds + 1, sizeof(*cmd_used));
    c.good = calloc(in->n_device + in->n_drawer_log + 1, sizeof(*c.good));
    if (jused == NULL || dmatch == NULL || cmd_used == NULL || c.good == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    /* the day: the counts, else the first and last movement */
    c.day_from = in->start ? in->start->time_ns : INT64_MAX;
    c.day_to = in->end ? in->end->time_ns : INT64_MIN;
    for (size_t i = 0; i < in->n_journal; i++) {
        if (in->journal[i].time_ns < c.day_from)
            c.day_from = in->journal[i].time_ns;
        if (in->journal[i].time_ns > c.day_to)
            c.day_to = in->journal[i].time_ns;
    }
    for (size_t i = 0; i < in->n_device; i++) {
        if (in->device[i].time_ns < c.day_from)
            c.day_from = in->device[i].time_ns;
        if (in->device[i].time_ns > c.day_to)
            c.day_to = in->device[i].time_ns;
    }

    /* pass 1: match device movements to journal movements by ref and direction
     * (hash-free: journal indexed by a sorted copy would be faster; inputs of
     * one terminal's day are small enough for this O(n*m) bound in practice,
     * and RECON_MAX_ITEMS caps it) */
    int64_t *dev_j = calloc(in->n_device + 1, sizeof(*dev_j));
    if (dev_j == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < in->n_device; i++) {
        dev_j[i] = -1;
        for (size_t j = 0; j < in->n_journal; j++)
            if (!jused[j] && in->journal[j].dir == in->device[i].dir && same_ref(in->journal[j].ref, in->device[i].ref)) {
                jused[j] = true;
                dmatch[i] = true;
                dev_j[i] = (int64_t)j;
                c.good[c.n_good++] = in->device[i].time_ns;
                break;
            }
    }
    /* drawer opens matched to commands count as reconciled moments too */
    int64_t match_ns = in->drawer_match_ns > 0 ? in->drawer_match_ns : INT64_C(5000000000);
    int64_t *open_cmd = calloc(in->n_drawer_log + 1, sizeof(*open_cmd));
    if (open_cmd == NULL) {
        free(dev_j);
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < in->n_drawer_log; i++) {
        const struct recon_drawer_open *o = &in->drawer_log[i];
        open_cmd[i] = -1;
        if (o->manual)
            continue;
        for (size_t j = 0; j < in->n_drawer_cmds; j++) {
            const struct recon_drawer_open *cm = &in->drawer_cmds[j];
            int64_t dt = o->time_ns - cm->time_ns;
            if (cmd_used[j])
                continue;
            if (same_ref(o->ref, cm->ref) || (o->ref == NULL && dt >= -match_ns && dt <= match_ns)) {
                cmd_used[j] = true;
                open_cmd[i] = (int64_t)j;
                c.good[c.n_good++] = o->time_ns;
                break;
            }
        }
    }
    qsort(c.good, c.n_good, sizeof(*c.good), cmp_i64);
    ret->matched = c.n_good;

    /* pass 2: findings */
    for (size_t i = 0; i < in->n_device; i++) {
        const struct recon_move *d = &in->device[i];
        struct recon_finding *f;
        if (dmatch[i]) {
            const struct recon_move *j = &in->journal[dev_j[i]];
            bool differ = false;
            for (int k = 0; k < RECON_DENOMS; k++)
                differ |= d->count[k] != j->count[k];
            if (!differ || (f = finding(&c, RECON_AMOUNT_MISMATCH, d->time_ns)) == NULL)
                continue;
            for (int k = 0; k < RECON_DENOMS; k++)
                f->delta[k] = (int64_t)(d->count[k] - j->count[k]) * (d->dir == RECON_OUT ? -1 : 1);
            add_operator(f, j->operator_id);
        } else {
            if ((f = finding(&c, RECON_DEVICE_NOT_IN_JOURNAL, d->time_ns)) == NULL)
                continue;
            for (int k = 0; k < RECON_DENOMS; k++)
                f->delta[k] = (int64_t)d->count[k] * (d->dir == RECON_OUT ? -1 : 1);
        }
        snprintf(f->ref, sizeof(f->ref), "%s", d->ref ? d->ref : "");
        snprintf(f->serial, sizeof(f->serial), "%s", d->serial ? d->serial : "");
        f->seq = d->seq;
        set_amount(f);
    }
    for (size_t j = 0; j < in->n_journal; j++) {
        const struct recon_move *m = &in->journal[j];
        struct recon_finding *f;
        if (jused[j] || (f = finding(&c, RECON_JOURNAL_NOT_IN_DEVICE, m->time_ns)) == NULL)
            continue;
        for (int k = 0; k < RECON_DENOMS; k++)
            f->delta[k] = -(int64_t)m->count[k] * (m->dir == RECON_OUT ? -1 : 1);
        snprintf(f->ref, sizeof(f->ref), "%s", m->ref ? m->ref : "");
        add_operator(f, m->operator_id);
        set_amount(f);
    }
    for (size_t i = 0; i < in->n_drawer_log; i++) {
        const struct recon_drawer_open *o = &in->drawer_log[i];
        struct recon_finding *f;
        if (open_cmd[i] >= 0 || (f = finding(&c, RECON_DRAWER_UNCOMMANDED, o->time_ns)) == NULL)
            continue;
        snprintf(f->ref, sizeof(f->ref), "%s", o->manual ? "manual-key" : o->ref ? o->ref : "");
        snprintf(f->serial, sizeof(f->serial), "%s", o->serial ? o->serial : "");
        f->seq = o->seq;
    }
    if (in->start != NULL && in->end != NULL) {
        int64_t expect[RECON_DENOMS];
        bool differ = false;
        for (int k = 0; k < RECON_DENOMS; k++)
            expect[k] = in->start->count[k];
        for (size_t i = 0; i < in->n_device; i++)
            for (int k = 0; k < RECON_DENOMS; k++)
                expect[k] += in->device[i].dir == RECON_IN ? in->device[i].count[k] : -in->device[i].count[k];
        for (int k = 0; k < RECON_DENOMS; k++)
            differ |= expect[k] != in->end->count[k];
        if (differ) {
            struct recon_finding *f = finding(&c, RECON_COUNT_MISMATCH, in->end->time_ns);
            if (f != NULL) {
                f->from_ns = in->start->time_ns;
                f->to_ns = in->end->time_ns;
                for (int k = 0; k < RECON_DENOMS; k++)
                    f->delta[k] = in->end->count[k] - expect[k];
                set_amount(f);
            }
        }
    }
    free(dev_j);
    free(open_cmd);
    if (audit != NULL)
        for (size_t i = 0; i < ret->n; i++)
            record(audit, &ret->f[i]);
    r = 0;
out:
    free(jused);
    free(dmatch);
    free(cmd_used);
    free(c.good);
    return r;
}

static void fmt_time(char *out, size_t n, int64_t ns)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

int recon_report_text(const struct recon_report *rp, struct buf *out)
{
    char line[512], from[32], to[32];
    int r = 0;
    int n = snprintf(line, sizeof(line), "cash reconciliation: %zu movements reconciled, %zu discrepanc%s%s\n",
                     rp->matched, rp->n, rp->n == 1 ? "y" : "ies", rp->truncated ? " (list truncated)" : "");
    if ((r = buf_put_bytes(out, line, (size_t)n)) != 0)
        return r;
    for (size_t i = 0; i < rp->n; i++) {
        const struct recon_finding *f = &rp->f[i];
        char ops[RECON_MAX_OPERATORS * 66] = "";
        for (size_t k = 0; k < f->n_operators; k++) {
            if (k)
                strcat(ops, ", ");
            strcat(ops, f->operators[k]);
        }
        fmt_time(from, sizeof(from), f->from_ns);
        fmt_time(to, sizeof(to), f->to_ns);
        n = snprintf(line, sizeof(line), "  %-22s %+lld yen  window %s .. %s UTC  operators: %s%s%s%s%s seq %" PRIu64 "\n",
                     recon_kind_name(f->kind), (long long)f->amount, from, to, ops[0] ? ops : "(none signed on)",
                     f->ref[0] ? "  ref " : "", f->ref, f->serial[0] ? "  device " : "", f->serial, f->seq);
        if (n < 0 || (r = buf_put_bytes(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1)) != 0)
            return r;
    }
    return 0;
}
