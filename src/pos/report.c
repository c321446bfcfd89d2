/*
 * report.c: owns day operations and the X/Z totals of one register, computed
 * with SQL over the journal's receipts, tenders, lines and cash_moves tables
 * (rows with z_no NULL belong to the current period; a Z stamps them with its
 * number). It must not own transactions (txn.c) or the journal schema
 * (journal.c); it reads the schema and writes only cash_moves, meta and the
 * z_no stamps.
 */
#include "pos/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "mamori/err.h"
#include "pos/journal.h"

const int64_t report_denoms[REPORT_DENOMS] = {10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1};

static const char *const move_names[] = {"pickup", "paid_in", "paid_out", "change_fund"};

static int fail(struct txn *t, int rc, const char *msg)
{
    txn_set_error(t, msg);
    return rc;
}

static const char *term(struct txn *t)
{
    return txn_config(t)->terminal;
}

/* ---- small SQL helpers ---- */

/* ?1 = terminal, ?2 = the period's Z number (NULL: the current period). */
static void bind_period(sqlite3_stmt *s, const char *terminal, int64_t z)
{
    sqlite3_bind_text(s, 1, terminal, -1, SQLITE_STATIC);
    if (z > 0)
        sqlite3_bind_int64(s, 2, z);
    else
        sqlite3_bind_null(s, 2);
}

static int q_int(sqlite3 *db, const char *sql, const char *terminal, int64_t z, int64_t *ret)
{
    sqlite3_stmt *s;
    int r;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    bind_period(s, terminal, z);
    r = sqlite3_step(s);
    *ret = r == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

static int meta_key(char *out, size_t n, const char *what, const char *terminal)
{
    int w = snprintf(out, n, "%s:%s", what, terminal);
    return w < 0 || (size_t)w >= n ? MAMORI_ERR_TOOBIG : 0;
}

static int meta_get(sqlite3 *db, const char *key, int64_t *ret)
{
    sqlite3_stmt *s;
    int r;
    if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k=?", -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    r = sqlite3_step(s);
    *ret = r == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

static int meta_set(sqlite3 *db, const char *key, int64_t v)
{
    sqlite3_stmt *s;
    int r;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO meta(k,v) VALUES(?,?) ON CONFLICT(k) DO UPDATE SET "
                           "v=excluded.v",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v);
    r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

/* ---- totals ---- */

#define CUR " AND r.terminal=?1 AND r.z_no IS ?2 AND r.training=0"
#define CUR_MOVES " WHERE terminal=?1 AND z_no IS ?2 AND training=0"
/* The period's bounds: the previous Z's time, and this Z's (NULL: open). */
#define PERIOD_FROM                                                                       \
    "COALESCE((SELECT MAX(time) FROM cash_moves WHERE terminal=?1 AND kind='z' AND (?2 IS " \
    "NULL OR z_no < ?2)),0)"
#define PERIOD_TO "(SELECT MAX(time) FROM cash_moves WHERE terminal=?1 AND kind='z' AND z_no=?2)"

/* Ten comma-separated piece counts at *pp, each 0..REPORT_COUNT_MAX; *pp
 * moves past them. 0 when all ten were read. */
static int parse_ten(const char **pp, int64_t out[REPORT_DENOMS])
{
    const char *d = *pp;
    for (int i = 0; i < REPORT_DENOMS; i++) {
        char *end;
        long long v;
        if (*d < '0' || *d > '9')
            return MAMORI_ERR_INVAL;
        v = strtoll(d, &end, 10);
        if (v < 0 || v > REPORT_COUNT_MAX || (i < REPORT_DENOMS - 1 && *end != ','))
            return MAMORI_ERR_INVAL;
        out[i] = v;
        d = i < REPORT_DENOMS - 1 ? end + 1 : end;
    }
    *pp = d;
    return 0;
}

static int64_t yen_of(const int64_t c[REPORT_DENOMS])
{
    int64_t sum = 0;
    for (int i = 0; i < REPORT_DENOMS; i++)
        sum += c[i] * report_denoms[i]; /* bounded: counts <= REPORT_COUNT_MAX */
    return sum;
}

static void changer_diff(struct report_totals *t)
{
    t->denom_known = t->changer_known && t->changer_declared;
    t->changer_over_short = 0;
    for (int i = 0; i < REPORT_DENOMS; i++) {
        t->denom_diff[i] = t->denom_known ? t->changer_counts[i] - t->changer_expected[i] : 0;
        t->changer_over_short += t->denom_diff[i] * report_denoms[i];
    }
}

void report_detail_parse(const char *d, struct report_totals *t)
{
    int64_t c[REPORT_DENOMS], m[REPORT_DENOMS], k[REPORT_DENOMS];
    bool has_m = false, has_k = false;
    if (d == NULL || parse_ten(&d, c) != 0 || yen_of(c) != t->declared_amount)
        return;
    if (*d == '|') {
        d++;
        if (*d != '|' && (parse_ten(&d, m) != 0 || !(has_m = true)))
            return;
        if (*d != '|')
            return;
        d++;
        if (*d != '\0' && (parse_ten(&d, k) != 0 || !(has_k = true)))
            return;
    }
    if (*d != '\0' || (has_k && !has_m))
        return;
    memcpy(t->counts, c, sizeof(c));
    t->changer_known = has_m;
    t->changer_declared = has_k;
    if (has_m)
        memcpy(t->changer_expected, m, sizeof(m));
    if (has_k)
        memcpy(t->changer_counts, k, sizeof(k));
    changer_diff(t);
}

static int put_ten(char *out, size_t cap, size_t *off, const char *sep, const int64_t c[REPORT_DENOMS])
{
    for (int i = 0; i < REPORT_DENOMS; i++) {
        int w = snprintf(out + *off, cap - *off, "%s%lld", i ? "," : sep, (long long)c[i]);
        if (w < 0 || (size_t)w >= cap - *off)
            return MAMORI_ERR_TOOBIG;
        *off += (size_t)w;
    }
    return 0;
}

int report_detail_format(const struct report_totals *t, char out[REPORT_DETAIL_MAX])
{
    char tmp[REPORT_DETAIL_MAX];
    size_t off = 0;
    int rc = put_ten(tmp, sizeof(tmp), &off, "", t->counts);
    if (rc == 0 && t->changer_known)
        rc = put_ten(tmp, sizeof(tmp), &off, "|", t->changer_expected);
    if (rc == 0 && t->changer_known && t->changer_declared)
        rc = put_ten(tmp, sizeof(tmp), &off, "|", t->changer_counts);
    else if (rc == 0 && t->changer_known) {
        if (off + 2 > sizeof(tmp))
            return MAMORI_ERR_TOOBIG;
        tmp[off++] = '|';
        tmp[off] = '\0';
    }
    if (rc == 0)
        memcpy(out, tmp, off + 1);
    return rc;
}

/* The last cash declaration of the period (detail: report_detail_format). */
static int last_declaration(sqlite3 *db, const char *terminal, int64_t z, struct report_totals *t)
{
    sqlite3_stmt *s;
    int r;
    if (sqlite3_prepare_v2(db,
                           "SELECT amount, detail FROM cash_moves" CUR_MOVES
                           " AND kind='declaration' ORDER BY id DESC LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    bind_period(s, terminal, z);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        /* A detail that does not add up to the amount is not shown by piece. */
        t->declared = true;
        t->declared_amount = sqlite3_column_int64(s, 0);
        report_detail_parse((const char *)sqlite3_column_text(s, 1), t);
        t->over_short = t->declared_amount - t->cash_expected;
    }
    sqlite3_finalize(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

static int totals(sqlite3 *db, const char *terminal, int64_t z, struct report_totals *t)
{
    sqlite3_stmt *s;
    int rc = 0, r;
    memset(t, 0, sizeof(*t));
    if ((rc = q_int(db, "SELECT COUNT(*) FROM receipts r WHERE kind='sale'" CUR, terminal, z,
                    &t->sales)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(total),0) FROM receipts r WHERE kind='sale'" CUR,
                    terminal, z, &t->sales_amount)) ||
        (rc = q_int(db, "SELECT COUNT(*) FROM receipts r WHERE kind='return'" CUR, terminal, z,
                    &t->returns)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(total),0) FROM receipts r WHERE kind='return'" CUR,
                    terminal, z, &t->returns_amount)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(discount),0) FROM receipts r WHERE 1" CUR, terminal, z,
                    &t->discounts)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(base10),0) FROM receipts r WHERE 1" CUR, terminal, z,
                    &t->base[TAX_G10])) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(tax10),0) FROM receipts r WHERE 1" CUR, terminal, z,
                    &t->tax[TAX_G10])) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(base8),0) FROM receipts r WHERE 1" CUR, terminal, z,
                    &t->base[TAX_G8])) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(tax8),0) FROM receipts r WHERE 1" CUR, terminal, z,
                    &t->tax[TAX_G8])) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(change),0) FROM receipts r WHERE 1" CUR, terminal, z,
                    &t->change_given)) ||
        (rc = q_int(db,
                    "SELECT COUNT(*) FROM cancelled c WHERE c.terminal=?1 AND c.time >= "
                    PERIOD_FROM " AND (?2 IS NULL OR c.time < " PERIOD_TO ")",
                    terminal, z, &t->cancels)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(amount),0) FROM cash_moves" CUR_MOVES
                        " AND kind='change_fund'",
                    terminal, z, &t->change_fund)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(amount),0) FROM cash_moves" CUR_MOVES
                        " AND kind='paid_in'",
                    terminal, z, &t->paid_in)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(amount),0) FROM cash_moves" CUR_MOVES
                        " AND kind='paid_out'",
                    terminal, z, &t->paid_out)) ||
        (rc = q_int(db, "SELECT COALESCE(SUM(amount),0) FROM cash_moves" CUR_MOVES
                        " AND kind='pickup'",
                    terminal, z, &t->pickups)) ||
        (rc = q_int(db, "SELECT COUNT(*) FROM lines l JOIN receipts r USING(receipt_no) WHERE "
                        "l.voided=1" CUR,
                    terminal, z, &t->voids)) ||
        (rc = q_int(db, "SELECT " PERIOD_FROM, terminal, z, &t->from_time)) ||
        (rc = q_int(db, "SELECT COALESCE(" PERIOD_TO ",0)", terminal, z, &t->to_time)))
        return rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.kind, COUNT(*), SUM(d.amount) FROM tenders d JOIN receipts r"
                           " USING(receipt_no) WHERE 1" CUR " GROUP BY d.kind ORDER BY d.kind",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    bind_period(s, terminal, z);
    while ((r = sqlite3_step(s)) == SQLITE_ROW && t->n_tenders < REPORT_TENDERS_MAX) {
        size_t i = t->n_tenders++;
        snprintf(t->tenders[i].kind, sizeof(t->tenders[i].kind), "%s",
                 (const char *)sqlite3_column_text(s, 0));
        t->tenders[i].count = sqlite3_column_int64(s, 1);
        t->tenders[i].amount = sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(db,
                           "SELECT l.dept, SUM(l.qty), SUM(l.amount) FROM lines l JOIN receipts r"
                           " USING(receipt_no) WHERE l.voided=0" CUR
                           " GROUP BY l.dept ORDER BY l.dept",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    bind_period(s, terminal, z);
    while ((r = sqlite3_step(s)) == SQLITE_ROW && t->n_depts < REPORT_DEPTS_MAX) {
        size_t i = t->n_depts++;
        t->depts[i].dept = sqlite3_column_int(s, 0);
        t->depts[i].qty = sqlite3_column_int64(s, 1);
        t->depts[i].amount = sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return MAMORI_ERR_DB;
    {
        int64_t cash = 0;
        for (size_t i = 0; i < t->n_tenders; i++)
            if (strcmp(t->tenders[i].kind, "cash") == 0)
                cash = t->tenders[i].amount;
        t->cash_expected = t->change_fund + cash - t->change_given + t->paid_in - t->paid_out -
                           t->pickups;
    }
    if ((rc = last_declaration(db, terminal, z, t)))
        return rc;
    if (z > 0) {
        t->z_no = z;
        return 0;
    }
    {
        char key[64];
        int64_t last = 0;
        if ((rc = meta_key(key, sizeof(key), "z", terminal)) || (rc = meta_get(db, key, &last)))
            return rc;
        t->z_no = last + 1;
    }
    return 0;
}

int report_x(struct txn *t, struct report_totals *ret)
{
    struct report_totals *tmp = malloc(sizeof(*tmp));
    struct audit_actor act;
    int rc;
    if (tmp == NULL)
        return MAMORI_ERR_NOMEM;
    rc = totals(journal_db(txn_journal(t)), term(t), 0, tmp);
    if (rc == 0) {
        *ret = *tmp;
        txn_actor(t, &act);
        audit_event(txn_audit(t), &act, "report.x", F_STR("terminal", term(t)),
                    F_AMOUNT("sales", tmp->sales_amount));
    }
    free(tmp);
    return rc;
}

struct z_ctx {
    const char *terminal;
    struct report_totals *tot;
};

static int z_body(void *ctx, sqlite3 *db)
{
    struct z_ctx *c = ctx;
    sqlite3_stmt *s;
    char key[64];
    int rc, r;
    int64_t now = (int64_t)time(NULL);
    if ((rc = totals(db, c->terminal, 0, c->tot)) ||
        (rc = meta_key(key, sizeof(key), "z", c->terminal)) ||
        (rc = meta_set(db, key, c->tot->z_no)))
        return rc;
    static const char *const stamps[] = {
        "UPDATE receipts SET z_no=?2 WHERE terminal=?1 AND z_no IS NULL",
        "UPDATE cash_moves SET z_no=?2 WHERE terminal=?1 AND z_no IS NULL",
        ("INSERT INTO cash_moves(terminal,kind,amount,operator,approver,training,z_no,time,"
         "detail) VALUES(?1,'z',0,'','',0,?2,?3,'')"),
    };
    for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
        if (sqlite3_prepare_v2(db, stamps[i], -1, &s, NULL) != SQLITE_OK)
            return MAMORI_ERR_DB;
        sqlite3_bind_text(s, 1, c->terminal, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, c->tot->z_no);
        if (sqlite3_bind_parameter_count(s) >= 3)
            sqlite3_bind_int64(s, 3, now);
        r = sqlite3_step(s);
        sqlite3_finalize(s);
        if (r != SQLITE_DONE)
            return MAMORI_ERR_DB;
    }
    c->tot->to_time = now;
    return 0;
}

int report_z(struct txn *t, struct report_totals *ret)
{
    struct report_totals *tmp;
    struct z_ctx c;
    struct audit_actor act;
    int rc;
    if (txn_current(t) != NULL)
        return fail(t, MAMORI_ERR_STATE, "finish the open transaction first");
    if (txn_training(t))
        return fail(t, MAMORI_ERR_STATE, "no Z report in training mode");
    if ((tmp = malloc(sizeof(*tmp))) == NULL)
        return MAMORI_ERR_NOMEM;
    c.terminal = term(t);
    c.tot = tmp;
    rc = journal_tx(txn_journal(t), z_body, &c);
    if (rc == 0) {
        *ret = *tmp;
        txn_actor(t, &act);
        audit_event(txn_audit(t), &act, "report.z", F_STR("terminal", term(t)),
                    F_INT("z_no", tmp->z_no), F_AMOUNT("sales", tmp->sales_amount),
                    F_AMOUNT("returns", tmp->returns_amount),
                    F_AMOUNT("cash_expected", tmp->cash_expected));
    }
    free(tmp);
    return rc ? fail(t, rc, "Z report failed; nothing reset") : 0;
}

/* ---- cash movements ---- */

struct move_ctx {
    const char *terminal, *kind, *op, *approver, *note;
    int64_t amount;
    bool training, drawer;
    struct journal_cmd cmd;
};

static int move_body(void *ctx, sqlite3 *db)
{
    struct move_ctx *c = ctx;
    sqlite3_stmt *s;
    int r;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO cash_moves(terminal,kind,amount,operator,approver,"
                           "training,time,detail) VALUES(?,?,?,?,?,?,?,?)",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, c->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, c->amount);
    sqlite3_bind_text(s, 4, c->op, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, c->approver, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, c->training);
    sqlite3_bind_int64(s, 7, (int64_t)time(NULL));
    sqlite3_bind_text(s, 8, c->note ? c->note : "", -1, SQLITE_STATIC);
    r = sqlite3_step(s);
    sqlite3_finalize(s);
    if (r != SQLITE_DONE)
        return MAMORI_ERR_DB;
    if (!c->drawer || c->training)
        return 0;
    /* The drawer command's intent commits with the movement (exactly once). */
    memset(&c->cmd, 0, sizeof(c->cmd));
    snprintf(c->cmd.idem, sizeof(c->cmd.idem), "%s-mv%lld", c->terminal,
             (long long)sqlite3_last_insert_rowid(db));
    snprintf(c->cmd.kind, sizeof(c->cmd.kind), "drawer");
    snprintf(c->cmd.terminal, sizeof(c->cmd.terminal), "%s", c->terminal);
    c->cmd.tender = -1;
    c->cmd.amount = 0;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO cash_cmds(idem,kind,terminal,txn_no,tender,amount,result,"
                           "state,training,time) VALUES(?,?,?,0,-1,0,0,0,0,?)",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, c->cmd.idem, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c->cmd.kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, c->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
    r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

static int drawer_send(struct txn *t, struct journal_cmd *c)
{
    const struct pos_devices *d = txn_devices(t);
    struct audit_actor act;
    int rc = MAMORI_ERR_OFFLINE;
    for (int i = 0; i < 3 && d->drawer_open != NULL; i++) {
        rc = d->drawer_open(d->ctx, c->idem);
        if (rc != MAMORI_ERR_TIMEOUT && rc != MAMORI_ERR_OFFLINE)
            break;
    }
    if (rc == MAMORI_ERR_TIMEOUT || rc == MAMORI_ERR_OFFLINE)
        return fail(t, rc, "drawer not answering: the command stays pending");
    txn_actor(t, &act);
    audit_event(txn_audit(t), &act, rc == 0 ? "cash.command" : "cash.command.failed",
                F_STR("kind", "drawer"), F_STR("idem", c->idem), F_INT("txn", 0),
                F_INT("tender", -1), F_AMOUNT("amount", 0));
    if (journal_cmd_done(txn_journal(t), c->idem, 0, rc == 0))
        return fail(t, MAMORI_ERR_DB, "journal write failed after a drawer open");
    return rc;
}

static int move(struct txn *t, const char *kind, int64_t amount, const char *note,
                const char *approver, bool drawer)
{
    struct move_ctx c = {.terminal = term(t), .kind = kind, .op = txn_operator(t),
                         .approver = approver, .note = note, .amount = amount,
                         .training = txn_training(t), .drawer = drawer};
    struct audit_actor act;
    int rc = journal_tx(txn_journal(t), move_body, &c);
    if (rc)
        return fail(t, rc, "journal write failed; nothing changed");
    txn_actor(t, &act);
    audit_event(txn_audit(t), &act, "cash.move", F_STR("kind", kind), F_AMOUNT("amount", amount),
                F_STR("approver", approver), F_INT("training", c.training));
    if (drawer && !c.training)
        return drawer_send(t, &c.cmd);
    return 0;
}

static int idle_signed_on(struct txn *t)
{
    if (txn_operator(t)[0] == '\0')
        return fail(t, MAMORI_ERR_STATE, "sign on first");
    if (txn_current(t) != NULL)
        return fail(t, MAMORI_ERR_STATE, "finish the open transaction first");
    return 0;
}

int report_cash_move(struct txn *t, enum report_move kind, int64_t amount, const char *note,
                     const struct txn_cred *mgr)
{
    char manager[TXN_ID_MAX];
    int rc;
    if ((rc = idle_signed_on(t)))
        return rc;
    if ((unsigned)kind > REPORT_CHANGE_FUND || amount < 1 || amount > TAX_AMOUNT_MAX ||
        (note != NULL && strlen(note) > 200))
        return fail(t, MAMORI_ERR_INVAL, "amount out of range");
    if ((rc = txn_approve(t, move_names[kind], 0, mgr, manager)))
        return rc;
    return move(t, move_names[kind], amount, note, manager, true);
}

int report_no_sale(struct txn *t, const struct txn_cred *mgr)
{
    char manager[TXN_ID_MAX];
    int rc;
    if ((rc = idle_signed_on(t)))
        return rc;
    if ((rc = txn_approve(t, "no_sale", 0, mgr, manager)))
        return rc;
    return move(t, "no_sale", 0, NULL, manager, true);
}

/* ---- day ---- */

static int set_day(struct txn *t, int v)
{
    char key[64];
    int rc = meta_key(key, sizeof(key), "day", term(t));
    if (rc == 0)
        rc = journal_meta_set(txn_journal(t), key, v);
    return rc;
}

int report_day_state(struct txn *t, int *ret)
{
    char key[64];
    int64_t v = 0;
    int rc = meta_key(key, sizeof(key), "day", term(t));
    if (rc == 0)
        rc = journal_meta_get(txn_journal(t), key, &v);
    if (rc == 0)
        *ret = (int)v;
    return rc;
}

int report_day_open(struct txn *t, int64_t change_fund)
{
    struct audit_actor act;
    int state = 0, rc;
    if ((rc = idle_signed_on(t)))
        return rc;
    if (change_fund < 0 || change_fund > TAX_AMOUNT_MAX)
        return fail(t, MAMORI_ERR_INVAL, "change fund out of range");
    if ((rc = report_day_state(t, &state)))
        return rc;
    if (state == 1)
        return fail(t, MAMORI_ERR_STATE, "the register is already open");
    if (change_fund > 0 && (rc = move(t, "change_fund", change_fund, NULL, "", true)))
        return rc;
    if ((rc = set_day(t, 1)))
        return fail(t, rc, "journal write failed");
    txn_actor(t, &act);
    audit_event(txn_audit(t), &act, "day.open", F_STR("terminal", term(t)),
                F_AMOUNT("change_fund", change_fund));
    return 0;
}

int report_day_close(struct txn *t)
{
    struct audit_actor act;
    int rc;
    if ((rc = idle_signed_on(t)))
        return rc;
    if ((rc = set_day(t, 2)))
        return fail(t, rc, "journal write failed");
    txn_actor(t, &act);
    audit_event(txn_audit(t), &act, "day.close", F_STR("terminal", term(t)));
    return 0;
}

int report_declare_calc(const int64_t counts[REPORT_DENOMS], const int64_t machine[REPORT_DENOMS],
                        const int64_t changer[REPORT_DENOMS], struct report_totals *tot)
{
    if (counts == NULL || (changer != NULL && machine == NULL))
        return MAMORI_ERR_INVAL;
    for (int i = 0; i < REPORT_DENOMS; i++)
        if (counts[i] < 0 || counts[i] > REPORT_COUNT_MAX ||
            (machine && (machine[i] < 0 || machine[i] > REPORT_COUNT_MAX)) ||
            (changer && (changer[i] < 0 || changer[i] > REPORT_COUNT_MAX)))
            return MAMORI_ERR_INVAL;
    memcpy(tot->counts, counts, sizeof(tot->counts));
    tot->declared = true;
    tot->declared_amount = yen_of(counts);
    tot->over_short = tot->declared_amount - tot->cash_expected;
    tot->changer_known = machine != NULL;
    tot->changer_declared = changer != NULL;
    memset(tot->changer_expected, 0, sizeof(tot->changer_expected));
    memset(tot->changer_counts, 0, sizeof(tot->changer_counts));
    if (machine)
        memcpy(tot->changer_expected, machine, sizeof(tot->changer_expected));
    if (changer)
        memcpy(tot->changer_counts, changer, sizeof(tot->changer_counts));
    changer_diff(tot);
    return 0;
}

int report_declare(struct txn *t, const int64_t counts[REPORT_DENOMS],
                   const int64_t machine[REPORT_DENOMS], const int64_t changer[REPORT_DENOMS],
                   struct report_totals *tot)
{
    char note[REPORT_DETAIL_MAX];
    struct report_totals *x;
    struct audit_actor act;
    int rc;
    if ((rc = idle_signed_on(t)))
        return rc;
    if (changer != NULL && machine == NULL && txn_training(t))
        return fail(t, MAMORI_ERR_STATE, "training: the change machine is not counted");
    if (changer != NULL && machine == NULL)
        return fail(t, MAMORI_ERR_OFFLINE,
                    "the change machine's counts are unknown (none attached or not answering); "
                    "declare the drawer only");
    if ((x = malloc(sizeof(*x))) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((rc = report_x(t, x)) == 0 && (rc = report_declare_calc(counts, machine, changer, x)) != 0)
        rc = fail(t, rc, "count out of range 0..1000000; nothing recorded");
    if (rc == 0 && (rc = report_detail_format(x, note)) != 0)
        rc = fail(t, rc, "declaration too large; nothing recorded");
    if (rc == 0) {
        txn_actor(t, &act);
        audit_event(txn_audit(t), &act, "cash.declare", F_AMOUNT("declared", x->declared_amount),
                    F_AMOUNT("expected", x->cash_expected), F_AMOUNT("over_short", x->over_short),
                    F_INT("changer_counted", x->denom_known),
                    F_AMOUNT("changer_over_short", x->changer_over_short));
        rc = move(t, "declaration", x->declared_amount, note, "", false);
    }
    if (rc == 0)
        *tot = *x;
    free(x);
    return rc;
}

int report_text(const struct report_totals *r, bool z, char **ret)
{
    struct buf b;
    char line[160];
    int rc = 0;
#define OUT(...)                                                                 \
    do {                                                                         \
        int w_ = snprintf(line, sizeof(line), __VA_ARGS__);                      \
        if (rc == 0 && (w_ < 0 || (rc = buf_put_bytes(&b, line, strlen(line))))) \
            rc = rc ? rc : MAMORI_ERR_INTERNAL;                                  \
    } while (0)
    buf_init(&b, 64 * 1024);
    OUT("%s\n", z ? "【精算 Z】" : "【点検 X】");
    OUT("Z No. %lld\n", (long long)r->z_no);
    OUT("売上 %lld 件 ¥%lld\n", (long long)r->sales, (long long)r->sales_amount);
    OUT("返品 %lld 件 ¥%lld\n", (long long)r->returns, (long long)r->returns_amount);
    OUT("取消 %lld 件\n", (long long)r->cancels);
    OUT("訂正 %lld 件\n", (long long)r->voids);
    OUT("値引 ¥%lld\n", (long long)r->discounts);
    OUT("10%%対象 ¥%lld (内消費税 ¥%lld)\n", (long long)r->base[TAX_G10],
        (long long)r->tax[TAX_G10]);
    OUT("8%%対象 ¥%lld (内消費税 ¥%lld)\n", (long long)r->base[TAX_G8],
        (long long)r->tax[TAX_G8]);
    for (size_t i = 0; i < r->n_tenders; i++)
        OUT("支払 %-8s %lld 件 ¥%lld\n", r->tenders[i].kind, (long long)r->tenders[i].count,
            (long long)r->tenders[i].amount);
    for (size_t i = 0; i < r->n_depts; i++)
        OUT("部門 %4d %lld 点 ¥%lld\n", r->depts[i].dept, (long long)r->depts[i].qty,
            (long long)r->depts[i].amount);
    OUT("釣銭準備金 ¥%lld\n", (long long)r->change_fund);
    OUT("入金 ¥%lld 出金 ¥%lld 中間回収 ¥%lld\n", (long long)r->paid_in,
        (long long)r->paid_out, (long long)r->pickups);
    OUT("お釣 ¥%lld\n", (long long)r->change_given);
    OUT("現金在高(理論) ¥%lld\n", (long long)r->cash_expected);
    if (r->declared) {
        OUT("現金申告 ¥%lld 過不足 ¥%lld\n", (long long)r->declared_amount,
            (long long)r->over_short);
        OUT("金種別 (ドロア)\n");
        for (int i = 0; i < REPORT_DENOMS; i++)
            if (r->counts[i])
                OUT("  ¥%lld x %lld = ¥%lld\n", (long long)report_denoms[i],
                    (long long)r->counts[i], (long long)(r->counts[i] * report_denoms[i]));
        if (r->changer_known)
            OUT("金種別 (釣銭機) 計数/機械/差\n");
        for (int i = 0; r->changer_known && i < REPORT_DENOMS; i++) {
            if (r->changer_expected[i] == 0 && r->changer_counts[i] == 0)
                continue;
            if (r->denom_known)
                OUT("  ¥%lld %lld/%lld/%+lld\n", (long long)report_denoms[i],
                    (long long)r->changer_counts[i], (long long)r->changer_expected[i],
                    (long long)r->denom_diff[i]);
            else
                OUT("  ¥%lld -/%lld/-\n", (long long)report_denoms[i],
                    (long long)r->changer_expected[i]);
        }
        if (r->denom_known)
            OUT("釣銭機過不足 ¥%lld\n", (long long)r->changer_over_short);
    }
#undef OUT
    if (rc == 0)
        rc = buf_put_u8(&b, 0);
    if (rc == 0) {
        char *s = malloc(b.len);
        if (s == NULL)
            rc = MAMORI_ERR_NOMEM;
        else {
            memcpy(s, b.d, b.len);
            *ret = s;
        }
    }
    buf_free(&b);
    return rc;
}

/* ---- a Z report as it was taken (reprints) ---- */

int report_z_get(struct txn *t, int64_t z_no, struct report_totals *ret)
{
    struct report_totals *tmp;
    char key[64];
    int64_t last = 0;
    int rc;
    if ((rc = meta_key(key, sizeof(key), "z", term(t))) ||
        (rc = journal_meta_get(txn_journal(t), key, &last)))
        return rc;
    if (z_no < 1 || z_no > last)
        return fail(t, MAMORI_ERR_NOTFOUND, "no such Z report");
    if ((tmp = malloc(sizeof(*tmp))) == NULL)
        return MAMORI_ERR_NOMEM;
    rc = totals(journal_db(txn_journal(t)), term(t), z_no, tmp);
    if (rc == 0)
        *ret = *tmp;
    free(tmp);
    return rc;
}

#define Z_NOTES_SQL                                                                     \
    "CREATE TABLE IF NOT EXISTS z_notes(terminal TEXT NOT NULL, z_no INTEGER NOT NULL," \
    " recon TEXT NOT NULL, PRIMARY KEY(terminal, z_no))"

struct note_ctx {
    const char *terminal;
    int64_t z_no;
    const char *in;
    char *out;
};

static int note_set_body(void *ctx, sqlite3 *db)
{
    struct note_ctx *c = ctx;
    sqlite3_stmt *s;
    int r;
    if (sqlite3_exec(db, Z_NOTES_SQL, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO z_notes(terminal,z_no,recon) VALUES(?,?,?)",
                           -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, c->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, c->z_no);
    sqlite3_bind_text(s, 3, c->in, -1, SQLITE_STATIC);
    r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

static int note_get_body(void *ctx, sqlite3 *db)
{
    struct note_ctx *c = ctx;
    sqlite3_stmt *s;
    int r;
    if (sqlite3_exec(db, Z_NOTES_SQL, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT recon FROM z_notes WHERE terminal=? AND z_no=?", -1, &s,
                           NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, c->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, c->z_no);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL &&
        (c->out = strdup((const char *)sqlite3_column_text(s, 0))) == NULL)
        r = SQLITE_NOMEM;
    sqlite3_finalize(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : r == SQLITE_NOMEM ? MAMORI_ERR_NOMEM
                                                                        : MAMORI_ERR_DB;
}

int report_z_note_set(struct txn *t, int64_t z_no, const char *recon_json)
{
    struct note_ctx c = {.terminal = term(t), .z_no = z_no, .in = recon_json};
    if (recon_json == NULL || strlen(recon_json) > REPORT_NOTE_MAX)
        return MAMORI_ERR_TOOBIG;
    return journal_tx(txn_journal(t), note_set_body, &c);
}

int report_z_note_get(struct txn *t, int64_t z_no, char **ret)
{
    struct note_ctx c = {.terminal = term(t), .z_no = z_no};
    int rc = journal_tx(txn_journal(t), note_get_body, &c);
    if (rc == 0)
        *ret = c.out;
    else
        free(c.out);
    return rc;
}
