/*
 * api.c: owns the register's HTTP+JSON surface: routing, strict validation
 * of request bodies into struct api_req, execution against the engine
 * (txn.h, tender.h, report.h, txnprint.h, journal.h), error JSON, the event
 * ring with long-poll, and the libmicrohttpd daemons (unix socket, optional
 * loopback TCP) driven from the evloop. It owns no register state itself.
 */
#include "pos/api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/evloop.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/journal.h"
#include "pos/paycard.h"
#include "pos/repprint.h"
#include "pos/tender.h"
#include "pos/txnprint.h"

/* ---------------------------------------------------------------- parsing */

enum ftype { T_ID, T_SECRET, T_TEXT, T_DIGITS, T_INT, T_BOOL, T_MGR, T_COUNTS };

struct fdesc {
    const char *key;
    uint32_t bit;
    enum ftype t;
    size_t off;
    size_t cap;          /* strings: buffer size incl. NUL */
    int64_t min, max;    /* integers */
};

#define S(k, b, t, f) {k, b, t, offsetof(struct api_req, f), sizeof(((struct api_req *)0)->f), 0, 0}
#define I(k, b, f, lo, hi) {k, b, T_INT, offsetof(struct api_req, f), 0, lo, hi}

static const struct fdesc fields[] = {
    S("id", API_F_ID, T_ID, id),
    S("password", API_F_PASSWORD, T_SECRET, password),
    S("checker", API_F_CHECKER, T_ID, checker),
    S("checker_password", API_F_CHECKER_PW, T_SECRET, checker_pw),
    S("cashier", API_F_CASHIER, T_ID, cashier),
    S("cashier_password", API_F_CASHIER_PW, T_SECRET, cashier_pw),
    {"manager", API_F_MANAGER, T_MGR, 0, 0, 0, 0},
    S("code", API_F_CODE, T_DIGITS, code),
    S("plu", API_F_PLU, T_DIGITS, plu),
    S("slip", API_F_SLIP, T_DIGITS, slip),
    S("member", API_F_MEMBER, T_DIGITS, member),
    S("kind", API_F_KIND, T_ID, kind),
    S("note", API_F_NOTE, T_TEXT, note),
    S("cert", API_F_CERT, T_ID, cert),
    I("dept", API_F_DEPT, dept, 1, 9999),
    I("price", API_F_PRICE, price, 0, TXN_PRICE_MAX),
    I("qty", API_F_QTY, qty, 1, TXN_QTY_MAX),
    I("line", API_F_LINE, line, 1, TXN_LINES_MAX),
    I("amount", API_F_AMOUNT, amount, 1, TAX_AMOUNT_MAX),
    I("percent", API_F_PERCENT, percent, 1, TXN_DISCOUNT_PCT_MAX),
    I("receipt", API_F_RECEIPT, receipt, 1, INT64_C(999999999999)),
    I("points", API_F_POINTS, points, 1, TAX_AMOUNT_MAX),
    I("change_fund", API_F_FUND, fund, 0, TAX_AMOUNT_MAX),
    {"on", API_F_ON, T_BOOL, offsetof(struct api_req, on), 0, 0, 0},
    {"counts", API_F_COUNTS, T_COUNTS, offsetof(struct api_req, counts), 0, 0, 0},
    S("cvm", API_F_CVM, T_ID, cvm),
    S("method", API_F_METHOD, T_ID, pmethod),
    S("source", API_F_SOURCE, T_ID, psource),
    I("count", API_F_PCOUNT, pcount, 2, 60),
    {"changer_counts", API_F_CHANGER_COUNTS, T_COUNTS, offsetof(struct api_req, changer_counts), 0, 0, 0},
};
#undef S
#undef I

struct route {
    enum api_op op;
    const char *method;
    const char *path;
    uint32_t req, opt;
};

#define MGR API_F_MANAGER
static const struct route routes[] = {
    {API_SIGNON, "POST", "/v1/signon", API_F_ID | API_F_PASSWORD, 0},
    {API_SIGNON_PAIR, "POST", "/v1/signon/pair",
     API_F_CHECKER | API_F_CHECKER_PW | API_F_CASHIER | API_F_CASHIER_PW, 0},
    {API_SIGNOFF, "POST", "/v1/signoff", 0, 0},
    {API_TRAINING, "POST", "/v1/training", API_F_ON, 0},
    {API_DAY_OPEN, "POST", "/v1/day/open", 0, API_F_FUND},
    {API_DAY_CLOSE, "POST", "/v1/day/close", 0, 0},
    {API_SCAN, "POST", "/v1/scan", API_F_CODE, API_F_QTY},
    {API_PLU, "POST", "/v1/plu", API_F_PLU, API_F_QTY},
    {API_DEPT, "POST", "/v1/dept", API_F_DEPT | API_F_PRICE, API_F_QTY},
    {API_WEIGHED, "POST", "/v1/weighed", API_F_CODE, 0},
    {API_QTY, "POST", "/v1/qty", API_F_LINE | API_F_QTY, 0},
    {API_VOID, "POST", "/v1/void", API_F_LINE, MGR},
    {API_CANCEL, "POST", "/v1/cancel", 0, MGR},
    {API_DISCOUNT, "POST", "/v1/discount", 0, API_F_LINE | API_F_AMOUNT | API_F_PERCENT | MGR},
    {API_OVERRIDE, "POST", "/v1/override", API_F_LINE | API_F_PRICE, MGR},
    {API_SUBTOTAL, "POST", "/v1/subtotal", 0, 0},
    {API_EAT_IN, "POST", "/v1/eat-in", API_F_ON, 0},
    {API_CONFIRM_AGE, "POST", "/v1/confirm-age", 0, 0},
    {API_CASH, "POST", "/v1/tender/cash", 0, API_F_AMOUNT},
    {API_GIFT, "POST", "/v1/tender/gift", API_F_AMOUNT, API_F_CERT},
    {API_COUPON, "POST", "/v1/tender/coupon", API_F_CODE, 0},
    {API_MEMBER, "POST", "/v1/member", API_F_MEMBER, 0},
    {API_POINTS, "POST", "/v1/tender/points", API_F_POINTS, 0},
    {API_EXTERNAL, "POST", "/v1/tender/external", API_F_KIND | API_F_AMOUNT, 0},
    {API_REFUND_CASH, "POST", "/v1/refund/cash", 0, 0},
    {API_CARD, "POST", "/v1/tender/card", API_F_AMOUNT, API_F_CVM | API_F_METHOD | API_F_PCOUNT | API_F_SOURCE},
    {API_EMONEY, "POST", "/v1/tender/emoney", API_F_AMOUNT, 0},
    {API_REFUND_EXTERNAL, "POST", "/v1/refund/external", API_F_KIND, 0},
    {API_MEMBER_IC, "POST", "/v1/member/ic", 0, 0},
    {API_SUSPEND, "POST", "/v1/suspend", 0, 0},
    {API_RESUME, "POST", "/v1/resume", API_F_SLIP, 0},
    {API_RETURN, "POST", "/v1/return", API_F_RECEIPT, MGR},
    {API_RETURN_LINE, "POST", "/v1/return/line", API_F_LINE, API_F_QTY},
    {API_PICKUP, "POST", "/v1/cash/pickup", API_F_AMOUNT, API_F_NOTE | MGR},
    {API_PAID_IN, "POST", "/v1/cash/paid-in", API_F_AMOUNT, API_F_NOTE | MGR},
    {API_PAID_OUT, "POST", "/v1/cash/paid-out", API_F_AMOUNT, API_F_NOTE | MGR},
    {API_CHANGE_FUND, "POST", "/v1/cash/change-fund", API_F_AMOUNT, API_F_NOTE | MGR},
    {API_NO_SALE, "POST", "/v1/no-sale", 0, MGR},
    {API_DECLARE, "POST", "/v1/declare", API_F_COUNTS, API_F_CHANGER_COUNTS},
    {API_REPORT_X, "POST", "/v1/report/x", 0, 0},
    {API_REPORT_Z, "POST", "/v1/report/z", 0, 0},
    {API_REPRINT, "POST", "/v1/reprint", API_F_RECEIPT, API_F_KIND},
    {API_STATE, "GET", "/v1/state", 0, 0},
    {API_JOURNAL_SEARCH, "GET", "/v1/journal", 0, 0},
    {API_EVENTS, "GET", "/v1/events", 0, 0},
};
#undef MGR

__attribute__((format(printf, 4, 5))) static int perr(char *msg, size_t len, int rc,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return rc;
}

/* A JSON string into out (cap incl. NUL) with the class's character rules. */
static int get_string(const json_t *v, enum ftype t, char *out, size_t cap, const char *key,
                      char *msg, size_t ml)
{
    const char *s;
    size_t n;
    if (!json_is_string(v))
        return perr(msg, ml, MAMORI_ERR_INVAL, "%s: must be a string", key);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0)
        return perr(msg, ml, MAMORI_ERR_INVAL, "%s: must not be empty", key);
    if (n >= cap)
        return perr(msg, ml, MAMORI_ERR_TOOBIG, "%s: too long", key);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok;
        switch (t) {
        case T_ID:
            ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 c == '_' || c == '-';
            break;
        case T_DIGITS:
            ok = c >= '0' && c <= '9';
            break;
        default:
            ok = c >= 0x20 && c != 0x7f; /* UTF-8 checked by jansson; no controls or NUL */
            break;
        }
        if (!ok)
            return perr(msg, ml, MAMORI_ERR_INVAL, "%s: %s", key,
                        t == T_DIGITS ? "digits only"
                        : t == T_ID   ? "letters, digits, '_' and '-' only"
                                      : "control characters are not allowed");
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int get_field(const struct fdesc *f, const json_t *v, struct api_req *r, char *msg,
                     size_t ml)
{
    uint8_t *base = (uint8_t *)r;
    switch (f->t) {
    case T_INT: {
        json_int_t x;
        if (!json_is_integer(v))
            return perr(msg, ml, MAMORI_ERR_INVAL, "%s: must be an integer", f->key);
        x = json_integer_value(v);
        if (x < f->min || x > f->max) {
            snprintf(msg, ml, "%s: out of range %" PRId64 "..%" PRId64, f->key, f->min, f->max);
            return MAMORI_ERR_INVAL;
        }
        memcpy(base + f->off, &(int64_t){(int64_t)x}, sizeof(int64_t));
        return 0;
    }
    case T_BOOL:
        if (!json_is_boolean(v))
            return perr(msg, ml, MAMORI_ERR_INVAL, "%s: must be true or false", f->key);
        r->on = json_is_true(v);
        return 0;
    case T_MGR: {
        const char *k;
        json_t *x;
        int rc;
        if (!json_is_object(v) || json_object_size(v) != 2 || !json_object_get(v, "id") ||
            !json_object_get(v, "password"))
            return perr(msg, ml, MAMORI_ERR_INVAL, "%s: must be {\"id\", \"password\"}", f->key);
        json_object_foreach((json_t *)v, k, x) {
            if (strcmp(k, "id") == 0)
                rc = get_string(x, T_ID, r->mgr_id, sizeof(r->mgr_id), "manager.id", msg, ml);
            else
                rc = get_string(x, T_SECRET, r->mgr_pw, sizeof(r->mgr_pw), "manager.password",
                                msg, ml);
            if (rc)
                return rc;
        }
        return 0;
    }
    case T_COUNTS: {
        const char *k;
        json_t *x;
        int64_t c[REPORT_DENOMS] = {0};
        if (!json_is_object(v) || json_object_size(v) > REPORT_DENOMS)
            return perr(msg, ml, MAMORI_ERR_INVAL, "%s: must map denominations to pieces",
                        f->key);
        json_object_foreach((json_t *)v, k, x) {
            size_t i;
            char dn[24];
            for (i = 0; i < REPORT_DENOMS; i++) {
                snprintf(dn, sizeof(dn), "%" PRId64, report_denoms[i]);
                if (strcmp(dn, k) == 0)
                    break;
            }
            if (i == REPORT_DENOMS)
                return perr(msg, ml, MAMORI_ERR_INVAL, "%s: %.32s is not a yen denomination",
                            f->key, k);
            if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                json_integer_value(x) > REPORT_COUNT_MAX)
                return perr(msg, ml, MAMORI_ERR_INVAL, "%s.%.32s: pieces out of range 0..%d",
                            f->key, k, REPORT_COUNT_MAX);
            c[i] = (int64_t)json_integer_value(x);
        }
        memcpy(base + f->off, c, sizeof(c));
        return 0;
    }
    default:
        return get_string(v, f->t, (char *)base + f->off, f->cap, f->key, msg, ml);
    }
}

static const struct fdesc *field_by_key(const char *k)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].key, k) == 0)
            return &fields[i];
    return NULL;
}

static const struct fdesc *field_by_bit(uint32_t bit)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i].bit == bit)
            return &fields[i];
    return NULL;
}

struct api_req *api_req_new(void)
{
    return secmem_new(sizeof(struct api_req));
}

void api_req_free(struct api_req *r)
{
    secmem_free(r);
}

int api_parse(const char *method, const char *path, const char *body, size_t n,
              struct api_req *ret, char *msg, size_t ml)
{
    const struct route *rt = NULL;
    struct api_req *r;
    json_t *root = NULL, *v;
    json_error_t je;
    const char *k;
    bool path_known = false;
    int rc = 0;
    msg[0] = '\0';
    if (method == NULL || path == NULL || (n > 0 && body == NULL))
        return perr(msg, ml, MAMORI_ERR_INVAL, "%s", "no request");
    if (n > API_BODY_MAX)
        return perr(msg, ml, MAMORI_ERR_TOOBIG, "%s", "body too large");
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].path, path) == 0) {
            path_known = true;
            if (strcmp(routes[i].method, method) == 0)
                rt = &routes[i];
        }
    r = api_req_new();
    if (r == NULL)
        return MAMORI_ERR_NOMEM;
    if (rt == NULL) {
        /* GET /v1/journal/RECEIPTNO */
        const char *p = "/v1/journal/";
        size_t pl = strlen(p), dl = strlen(path);
        if (!path_known && strncmp(path, p, pl) == 0 && dl > pl && dl - pl <= 12 &&
            strspn(path + pl, "0123456789") == dl - pl && strcmp(method, "GET") == 0) {
            r->op = API_JOURNAL_SHOW;
            r->receipt = strtoll(path + pl, NULL, 10);
            r->have = API_F_RECEIPT;
            if (r->receipt < 1) {
                rc = perr(msg, ml, MAMORI_ERR_INVAL, "%s", "receipt numbers start at 1");
                goto out;
            }
            if (n > 0) {
                rc = perr(msg, ml, MAMORI_ERR_INVAL, "%s", "GET takes no body");
                goto out;
            }
            goto done;
        }
        rc = path_known ? perr(msg, ml, MAMORI_ERR_UNSUPPORTED, "method %.8s not allowed", method)
                        : perr(msg, ml, MAMORI_ERR_NOTFOUND, "no endpoint %.64s", path);
        goto out;
    }
    r->op = rt->op;
    if (n == 0)
        goto check;
    if (strcmp(method, "GET") == 0) {
        rc = perr(msg, ml, MAMORI_ERR_INVAL, "%s", "GET takes no body");
        goto out;
    }
    root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(msg, ml, "bad JSON at byte %d: %.80s", je.position, je.text);
        rc = MAMORI_ERR_INVAL;
        goto out;
    }
    if (!json_is_object(root)) {
        rc = perr(msg, ml, MAMORI_ERR_INVAL, "%s", "the body must be a JSON object");
        goto out;
    }
    json_object_foreach(root, k, v) {
        const struct fdesc *f = field_by_key(k);
        if (f == NULL || !((rt->req | rt->opt) & f->bit)) {
            rc = perr(msg, ml, MAMORI_ERR_INVAL, "unknown key \"%.32s\" for this endpoint", k);
            goto out;
        }
        if ((rc = get_field(f, v, r, msg, ml)) != 0)
            goto out;
        r->have |= f->bit;
    }
check:
    if ((rt->req & r->have) != rt->req) {
        uint32_t missing = rt->req & ~r->have;
        const struct fdesc *f = field_by_bit(missing & (~missing + 1));
        rc = perr(msg, ml, MAMORI_ERR_INVAL, "missing key \"%s\"", f ? f->key : "?");
        goto out;
    }
    if (r->op == API_DISCOUNT && !!(r->have & API_F_AMOUNT) == !!(r->have & API_F_PERCENT)) {
        rc = perr(msg, ml, MAMORI_ERR_INVAL, "%s", "give exactly one of amount and percent");
        goto out;
    }
done:
    memcpy(ret, r, sizeof(*r));
out:
    json_decref(root);
    api_req_free(r);
    return rc;
}

/* ------------------------------------------------------------ execution */

static const char *state_name(enum txn_state s)
{
    static const char *const n[] = {"idle",      "registering", "subtotal", "tendering",
                                    "completed", "cancelled",   "suspended"};
    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

static const char *src_name(enum txn_src s)
{
    static const char *const n[] = {"scan", "plu", "dept", "embedded", "weighed", "return"};
    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

json_t *api_state_json(struct txn *t)
{
    const struct txn_rec *r = txn_current(t);
    const char *cashier = txn_cashier(t);
    json_t *o = json_object(), *lines, *tenders;
    struct txn_totals tot;
    int day = 0;
    if (o == NULL)
        return NULL;
    (void)report_day_state(t, &day);
    json_object_set_new(o, "terminal", json_string(txn_config(t)->terminal));
    json_object_set_new(o, "operator", txn_operator(t) && txn_operator(t)[0]
                                           ? json_string(txn_operator(t)) : json_null());
    json_object_set_new(o, "cashier", cashier && cashier[0] ? json_string(cashier) : json_null());
    json_object_set_new(o, "training", json_boolean(txn_training(t)));
    json_object_set_new(o, "day", json_string(day == 1 ? "open" : day == 2 ? "closed" : "not opened"));
    json_object_set_new(o, "state", json_string(state_name(txn_state(t))));
    json_object_set_new(o, "last_receipt", json_integer(txn_last_receipt(t)));
    json_object_set_new(o, "last_change", json_integer(txn_last_change(t)));
    if (r == NULL)
        return o;
    json_object_set_new(o, "txn_no", json_integer(r->txn_no));
    json_object_set_new(o, "eat_in", json_boolean(r->eat_in));
    json_object_set_new(o, "return", json_boolean(r->is_return));
    if (r->is_return)
        json_object_set_new(o, "orig_receipt", json_integer(r->orig_receipt));
    lines = json_array();
    for (size_t i = 0; i < r->n_lines; i++) {
        const struct txn_line *l = &r->lines[i];
        json_t *x = json_pack("{s:i,s:s,s:s,s:s,s:I,s:i,s:I,s:I,s:b,s:b,s:b,s:s}", "no", l->no,
                              "src", src_name(l->src), "code", l->code, "name", l->name,
                              "unit_price", (json_int_t)l->unit_price, "qty", (int)l->qty,
                              "amount", (json_int_t)l->amount, "discount",
                              (json_int_t)l->discount, "reduced", l->reduced, "voided", l->voided,
                              "age_restricted", l->age_restricted, "checker", l->checker);
        if (x && l->grams)
            json_object_set_new(x, "grams", json_integer(l->grams));
        if (x)
            json_array_append_new(lines, x);
    }
    json_object_set_new(o, "lines", lines);
    tenders = json_array();
    for (size_t i = 0; i < r->n_tenders; i++) {
        const struct txn_tender *d = &r->tenders[i];
        json_t *x = json_pack("{s:s,s:I,s:I,s:s}", "kind", d->kind, "amount",
                              (json_int_t)d->amount, "received", (json_int_t)d->received,
                              "cashier", d->cashier);
        if (x && d->member_masked[0])
            json_object_set_new(x, "member", json_string(d->member_masked)); /* masked only */
        if (x)
            json_array_append_new(tenders, x);
    }
    json_object_set_new(o, "tenders", tenders);
    if (r->has_member)
        json_object_set_new(o, "member", json_string(r->member_masked));
    if (txn_totals(t, &tot) == 0) {
        json_object_set_new(o, "total", json_integer(tot.total));
        json_object_set_new(o, "paid", json_integer(tot.paid));
        json_object_set_new(o, "due", json_integer(tot.due));
        json_object_set_new(o, "discount", json_integer(tot.discount));
        json_object_set_new(o, "tax",
                            json_pack("{s:{s:I,s:I},s:{s:I,s:I}}", "10",
                                      "taxable", (json_int_t)tot.tax.g[TAX_G10].taxable, "tax",
                                      (json_int_t)tot.tax.g[TAX_G10].tax, "8", "taxable",
                                      (json_int_t)tot.tax.g[TAX_G8].taxable, "tax",
                                      (json_int_t)tot.tax.g[TAX_G8].tax));
    }
    return o;
}

static void denoms_report_json(json_t *o, const struct report_totals *r);

static json_t *report_json(const struct report_totals *r, bool z)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:I,s:I}",
                          "z_no", (json_int_t)r->z_no, "sales", (json_int_t)r->sales,
                          "sales_amount", (json_int_t)r->sales_amount, "returns",
                          (json_int_t)r->returns, "returns_amount", (json_int_t)r->returns_amount,
                          "cancels", (json_int_t)r->cancels, "discounts", (json_int_t)r->discounts,
                          "change_given", (json_int_t)r->change_given, "change_fund",
                          (json_int_t)r->change_fund, "paid_in", (json_int_t)r->paid_in,
                          "paid_out", (json_int_t)r->paid_out, "pickups", (json_int_t)r->pickups,
                          "cash_expected", (json_int_t)r->cash_expected, "tax10",
                          (json_int_t)r->tax[TAX_G10], "tax8", (json_int_t)r->tax[TAX_G8],
                          "declared", r->declared, "declared_amount",
                          (json_int_t)r->declared_amount, "over_short", (json_int_t)r->over_short);
    json_t *tn = json_object(), *dp = json_array();
    char *text = NULL;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < r->n_tenders; i++)
        json_object_set_new(tn, r->tenders[i].kind,
                            json_pack("{s:I,s:I}", "count", (json_int_t)r->tenders[i].count,
                                      "amount", (json_int_t)r->tenders[i].amount));
    for (size_t i = 0; i < r->n_depts; i++)
        json_array_append_new(dp, json_pack("{s:i,s:I,s:I}", "dept", r->depts[i].dept, "qty",
                                            (json_int_t)r->depts[i].qty, "amount",
                                            (json_int_t)r->depts[i].amount));
    json_object_set_new(o, "tenders", tn);
    json_object_set_new(o, "depts", dp);
    json_object_set_new(o, "base10", json_integer(r->base[TAX_G10]));
    json_object_set_new(o, "base8", json_integer(r->base[TAX_G8]));
    json_object_set_new(o, "voids", json_integer(r->voids));
    denoms_report_json(o, r);
    if (report_text(r, z, &text) == 0) {
        json_object_set_new(o, "text", json_string(text));
        free(text);
    }
    return o;
}

static int search_row(void *ctx, const struct journal_row *row)
{
    json_t *a = ctx;
    return json_array_append_new(
        a, json_pack("{s:I,s:I,s:s,s:I,s:I,s:s,s:s,s:b,s:I}", "receipt", (json_int_t)row->receipt_no,
                     "time", (json_int_t)row->time, "kind", row->kind, "total",
                     (json_int_t)row->total, "change", (json_int_t)row->change, "terminal",
                     row->terminal, "operator", row->operator_id, "training", row->training,
                     "z_no", (json_int_t)row->z_no)) == 0
               ? 0
               : MAMORI_ERR_NOMEM;
}

static int search_journal(struct journal *j, const char *code, const char *op, int64_t limit,
                          json_t **ret)
{
    struct journal_query q = {.code = code, .operator_id = op, .limit = (size_t)limit};
    json_t *a = json_array();
    int rc;
    if (a == NULL)
        return MAMORI_ERR_NOMEM;
    if ((rc = journal_search(j, &q, search_row, a)) != 0) {
        json_decref(a);
        return rc;
    }
    *ret = json_pack("{s:o}", "receipts", a);
    return *ret ? 0 : MAMORI_ERR_NOMEM;
}

/* A report printed on the printer device or not (the report stands either way). */
static void print_result(json_t *o, int rc, bool z)
{
    json_object_set_new(o, "printed", json_boolean(rc == 0));
    if (rc != 0)
        json_object_set_new(o, "print_error",
                            json_string(rc != MAMORI_ERR_OFFLINE && rc != MAMORI_ERR_TIMEOUT
                                            ? mamori_strerror(rc)
                                        : z ? "printer not answering: the Z is taken; reprint z N later"
                                            : "printer not answering"));
}

_Static_assert(POSDEV_DENOMS == REPORT_DENOMS, "one denomination order");

/* A cash declaration: the change machine's own counts are read now, when one
 * is attached (the expected pieces by denomination); counted pieces for the
 * machine without its counts are refused by report_declare. */
static int declare(struct txn *t, const struct api_req *r, struct report_totals *rep)
{
    const struct pos_devices *d = txn_devices(t);
    int64_t machine[REPORT_DENOMS];
    bool known = false;
    if (!txn_training(t) && d != NULL && d->changer_counts != NULL && posdev_has_changer(d))
        known = d->changer_counts(d->ctx, machine) == 0;
    return report_declare(t, r->counts, known ? machine : NULL,
                          (r->have & API_F_CHANGER_COUNTS) ? r->changer_counts : NULL, rep);
}

static json_t *denoms_json(const int64_t c[REPORT_DENOMS])
{
    json_t *o = json_object();
    char k[24];
    for (int i = 0; o != NULL && i < REPORT_DENOMS; i++) {
        snprintf(k, sizeof(k), "%" PRId64, report_denoms[i]);
        json_object_set_new(o, k, json_integer(c[i]));
    }
    return o;
}

/* 金種別: the drawer's declared pieces and yen; the change machine counted,
 * expected (its own counts) and difference, where known. */
static void denoms_report_json(json_t *o, const struct report_totals *r)
{
    json_t *ch;
    if (!r->declared)
        return;
    json_object_set_new(o, "counts", denoms_json(r->counts));
    if (!r->changer_known)
        return;
    ch = json_pack("{s:o,s:b}", "expected", denoms_json(r->changer_expected), "counted",
                   r->changer_declared);
    if (ch != NULL && r->denom_known) {
        json_object_set_new(ch, "counts", denoms_json(r->changer_counts));
        json_object_set_new(ch, "difference", denoms_json(r->denom_diff));
        json_object_set_new(ch, "over_short", json_integer(r->changer_over_short));
    }
    json_object_set_new(o, "changer", ch);
}

static int today_yyyymmdd(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm) == NULL)
        return 0;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int api_exec(const struct api_env *env, const struct api_req *r, json_t **ret_result,
             const char **ret_msg)
{
    struct txn *t = env->txn;
    struct txn_cred mgr = {.id = r->mgr_id, .password = r->mgr_pw};
    const struct txn_cred *m = (r->have & API_F_MANAGER) ? &mgr : NULL;
    int32_t qty = (r->have & API_F_QTY) ? (int32_t)r->qty : 1;
    json_t *extra = NULL;
    struct report_totals *rep = NULL;
    char slip[TXN_SLIP_LEN + 1];
    int64_t before = txn_last_receipt(t);
    int rc;
    *ret_msg = NULL;
    if (env->gate != NULL && (rc = env->gate(env->ctx, r->op)) != 0) {
        *ret_msg = txn_last_error(t);
        return rc;
    }
    switch (r->op) {
    case API_SIGNON: rc = txn_signon(t, r->id, r->password); break;
    case API_SIGNON_PAIR:
        rc = txn_signon_pair(t, r->checker, r->checker_pw, r->cashier, r->cashier_pw);
        break;
    case API_SIGNOFF: rc = txn_signoff(t); break;
    case API_TRAINING: rc = txn_set_training(t, r->on); break;
    case API_DAY_OPEN: rc = report_day_open(t, (r->have & API_F_FUND) ? r->fund : 0); break;
    case API_DAY_CLOSE: rc = report_day_close(t); break;
    case API_SCAN: rc = txn_scan(t, r->code, qty); break;
    case API_PLU: rc = txn_plu(t, r->plu, qty); break;
    case API_DEPT: rc = txn_dept(t, (int)r->dept, r->price, qty); break;
    case API_WEIGHED: rc = txn_weighed(t, r->code); break;
    case API_QTY: rc = txn_set_qty(t, (int)r->line, (int32_t)r->qty); break;
    case API_VOID: rc = txn_void_line(t, (int)r->line, m); break;
    case API_CANCEL: rc = txn_cancel(t, m); break;
    case API_DISCOUNT: {
        int64_t yen = (r->have & API_F_AMOUNT) ? r->amount : 0;
        int pct = (r->have & API_F_PERCENT) ? (int)r->percent : 0;
        rc = (r->have & API_F_LINE) ? txn_item_discount(t, (int)r->line, yen, pct, m)
                                    : txn_subtotal_discount(t, yen, pct, m);
        break;
    }
    case API_OVERRIDE: rc = txn_price_override(t, (int)r->line, r->price, m); break;
    case API_SUBTOTAL: rc = txn_subtotal(t); break;
    case API_EAT_IN: rc = txn_set_eat_in(t, r->on); break;
    case API_CONFIRM_AGE: rc = txn_confirm_age(t); break;
    case API_CASH:
        rc = (r->have & API_F_AMOUNT) ? tender_cash(t, r->amount) : tender_cash_deposit(t);
        break;
    case API_GIFT: rc = tender_gift(t, r->amount, (r->have & API_F_CERT) ? r->cert : NULL); break;
    case API_COUPON: rc = tender_coupon(t, r->code, today_yyyymmdd()); break;
    case API_MEMBER: rc = tender_member(t, r->member); break;
    case API_POINTS: rc = tender_points(t, r->points); break;
    case API_EXTERNAL: rc = tender_external(t, r->kind, r->amount); break;
    case API_REFUND_CASH: rc = tender_refund_cash(t); break;
    case API_CARD: {
        const struct tender_kind *k = txn_find_kind(t, "card");
        if (k == NULL) {
            rc = MAMORI_ERR_NOTFOUND;
            *ret_msg = "no card tender ([pay] payhost_url)";
            break;
        }
        rc = paycard_next(k->ctx, (r->have & API_F_CVM) ? r->cvm : NULL, (r->have & API_F_METHOD) ? r->pmethod : NULL,
                          (r->have & API_F_PCOUNT) ? (int)r->pcount : 0, (r->have & API_F_SOURCE) ? r->psource : NULL);
        if (rc != 0) {
            *ret_msg = "cvm: pin|signature; method: lump|installments (count 2-60)|revolving|bonus";
            break;
        }
        if ((rc = tender_external(t, "card", r->amount)) != 0 && paycard_last_reason(k->ctx)[0])
            *ret_msg = paycard_last_reason(k->ctx);
        break;
    }
    case API_EMONEY: {
        const struct tender_kind *k = txn_find_kind(t, "emoney");
        if ((rc = tender_external(t, "emoney", r->amount)) != 0 && k != NULL && paycard_last_reason(k->ctx)[0])
            *ret_msg = paycard_last_reason(k->ctx);
        break;
    }
    case API_REFUND_EXTERNAL: rc = tender_refund_external(t, r->kind); break;
    case API_MEMBER_IC: {
        const struct tender_kind *k = txn_find_kind(t, "card");
        if (k == NULL) {
            rc = MAMORI_ERR_NOTFOUND;
            *ret_msg = "no IC reader tenders ([pay] payhost_url)";
        } else if ((rc = paycard_point_card(k->ctx, t)) != 0 && paycard_last_reason(k->ctx)[0])
            *ret_msg = paycard_last_reason(k->ctx);
        break;
    }
    case API_SUSPEND:
        if ((rc = txn_suspend(t, slip)) == 0)
            extra = json_pack("{s:s}", "slip", slip);
        break;
    case API_RESUME: rc = txn_resume(t, r->slip); break;
    case API_RETURN: rc = txn_return_begin(t, r->receipt, m); break;
    case API_RETURN_LINE: rc = txn_return_line(t, (int)r->line, qty); break;
    case API_PICKUP: case API_PAID_IN: case API_PAID_OUT: case API_CHANGE_FUND: {
        enum report_move k = r->op == API_PICKUP    ? REPORT_PICKUP
                             : r->op == API_PAID_IN ? REPORT_PAID_IN
                             : r->op == API_PAID_OUT ? REPORT_PAID_OUT
                                                     : REPORT_CHANGE_FUND;
        rc = report_cash_move(t, k, r->amount, (r->have & API_F_NOTE) ? r->note : NULL, m);
        break;
    }
    case API_NO_SALE: rc = report_no_sale(t, m); break;
    case API_DECLARE: case API_REPORT_X: case API_REPORT_Z:
        if ((rep = calloc(1, sizeof(*rep))) == NULL)
            return MAMORI_ERR_NOMEM;
        if (r->op == API_REPORT_Z)
            rc = report_z(t, rep);
        else if (r->op == API_DECLARE)
            rc = declare(t, r, rep);
        else
            rc = report_x(t, rep);
        if (rc == 0)
            extra = json_pack("{s:o}", "report", report_json(rep, r->op == API_REPORT_Z));
        if (rc == 0 && extra != NULL && r->op == API_REPORT_Z && env->z_reconcile != NULL) {
            json_t *rec = env->z_reconcile(env->ctx, rep->z_no);
            if (rec != NULL)
                json_object_set_new(extra, "reconciliation", rec);
        }
        if (rc == 0 && extra != NULL && r->op != API_DECLARE)
            print_result(extra,
                         repprint_report(t, rep, r->op == API_REPORT_Z,
                                         json_object_get(extra, "reconciliation")),
                         r->op == API_REPORT_Z);
        free(rep);
        break;
    case API_REPRINT:
        /* {"receipt": N} a receipt; {"kind": "z", "receipt": N} Z report N */
        if ((r->have & API_F_KIND) && strcmp(r->kind, "z") != 0) {
            rc = MAMORI_ERR_INVAL;
            *ret_msg = "kind: only \"z\" (a Z report)";
        } else if (r->have & API_F_KIND) {
            rc = repprint_z_reprint(t, r->receipt);
            if (rc == MAMORI_ERR_OFFLINE || rc == MAMORI_ERR_TIMEOUT)
                *ret_msg = "printer not answering";
        } else {
            rc = txnprint_reprint(t, r->receipt);
        }
        break;
    case API_STATE: rc = 0; break;
    case API_JOURNAL_SHOW: {
        char *s = NULL;
        json_error_t je;
        if ((rc = journal_receipt_json(env->journal, r->receipt, &s)) == 0) {
            json_t *j = json_loads(s, 0, &je);
            free(s);
            extra = json_pack("{s:o}", "receipt", j ? j : json_null());
        } else if (rc == MAMORI_ERR_NOTFOUND) {
            *ret_msg = "no such receipt";
        }
        break;
    }
    default: rc = MAMORI_ERR_UNSUPPORTED; *ret_msg = "not an operation"; break;
    }
    if (rc != 0) {
        json_decref(extra);
        if (*ret_msg == NULL)
            *ret_msg = txn_last_error(t);
        return rc;
    }
    if (extra == NULL)
        extra = json_object();
    json_object_set_new(extra, "ok", json_true());
    if (txn_last_receipt(t) != before) {
        json_object_set_new(extra, "receipt", json_integer(txn_last_receipt(t)));
        json_object_set_new(extra, "change", json_integer(txn_last_change(t)));
    }
    json_object_set_new(extra, "state", api_state_json(t));
    *ret_result = extra;
    return 0;
}

const char *api_error_name(int code)
{
    switch (code) {
    case MAMORI_ERR_INVAL: case MAMORI_ERR_SHORT: case MAMORI_ERR_TRAILING: return "invalid";
    case MAMORI_ERR_TOOBIG: return "too_big";
    case MAMORI_ERR_CHECKSUM: return "check_digit";
    case MAMORI_ERR_AUTH: return "auth";
    case MAMORI_ERR_LOCKED: return "locked";
    case MAMORI_ERR_PERM: return "forbidden";
    case MAMORI_ERR_NOTFOUND: return "not_found";
    case MAMORI_ERR_STATE: return "state";
    case MAMORI_ERR_EXISTS: return "exists";
    case MAMORI_ERR_BUSY: return "busy";
    case MAMORI_ERR_AGAIN: return "again";
    case MAMORI_ERR_LIMIT: return "limit";
    case MAMORI_ERR_DECLINED: return "declined";
    case MAMORI_ERR_OFFLINE: return "offline";
    case MAMORI_ERR_TIMEOUT: return "timeout";
    case MAMORI_ERR_UNSUPPORTED: return "method";
    case MAMORI_ERR_REFUSED: return "refused";
    default: return "internal";
    }
}

unsigned api_http_status(int code)
{
    switch (code) {
    case MAMORI_ERR_INVAL: case MAMORI_ERR_SHORT: case MAMORI_ERR_TRAILING:
    case MAMORI_ERR_CHECKSUM: return 400;
    case MAMORI_ERR_TOOBIG: return 413;
    case MAMORI_ERR_AUTH: return 401;
    case MAMORI_ERR_DECLINED: return 402;
    case MAMORI_ERR_PERM: case MAMORI_ERR_REFUSED: return 403;
    case MAMORI_ERR_NOTFOUND: return 404;
    case MAMORI_ERR_UNSUPPORTED: return 405;
    case MAMORI_ERR_STATE: case MAMORI_ERR_EXISTS: case MAMORI_ERR_BUSY:
    case MAMORI_ERR_AGAIN: return 409;
    case MAMORI_ERR_LIMIT: return 422;
    case MAMORI_ERR_LOCKED: return 423;
    case MAMORI_ERR_OFFLINE: case MAMORI_ERR_TIMEOUT: return 503;
    default: return 500;
    }
}

/* ------------------------------------------------------------ the server */

#define API_DAEMONS 2

struct conn {
    struct api *a;
    struct MHD_Connection *c;
    char *body;
    size_t n;
    bool toobig;
    bool waiting;       /* suspended in a long-poll */
    bool woke;
    int64_t deadline;
    uint64_t since;
};

struct api {
    struct evloop *l;
    struct api_env env;
    struct MHD_Daemon *d[API_DAEMONS];
    int epfd[API_DAEMONS];
    bool parked[API_DAEMONS];
    char path[API_PATH_MAX];
    int depth;
    uint64_t timer;
    uint64_t kick;      /* a soon-due MHD_run */
    struct { uint64_t seq; json_t *ev; } ring[API_EVENTS_MAX];
    uint64_t seq;
    struct conn *waiters[API_WAITERS_MAX];
};

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    json_decref(j);
    if (s == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int code, const char *msg)
{
    return send_json(c, api_http_status(code),
                     json_pack("{s:s,s:i,s:s}", "error", api_error_name(code), "code", code,
                               "message", msg && msg[0] ? msg : mamori_strerror(code)));
}

static bool query_int(struct MHD_Connection *c, const char *key, int64_t lo, int64_t hi,
                      int64_t dflt, int64_t *ret)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    char *end;
    long long x;
    if (v == NULL) {
        *ret = dflt;
        return true;
    }
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi)
        return false;
    *ret = x;
    return true;
}

static json_t *events_since(struct api *a, uint64_t since)
{
    json_t *arr = json_array();
    uint64_t first = a->seq > API_EVENTS_MAX ? a->seq - API_EVENTS_MAX + 1 : 1;
    for (uint64_t s = since + 1 > first ? since + 1 : first; s <= a->seq; s++)
        json_array_append(arr, a->ring[s % API_EVENTS_MAX].ev);
    return json_pack("{s:o,s:I}", "events", arr, "next", (json_int_t)a->seq);
}

static void wake_waiters(struct api *a, bool expired_only)
{
    int64_t now = evloop_now_ms();
    for (size_t i = 0; i < API_WAITERS_MAX; i++) {
        struct conn *k = a->waiters[i];
        if (k == NULL || (expired_only && now < k->deadline))
            continue;
        a->waiters[i] = NULL;
        k->woke = true;
        MHD_resume_connection(k->c);
    }
}

static enum MHD_Result do_events(struct api *a, struct conn *k, struct MHD_Connection *c)
{
    int64_t since, wait;
    if (!k->woke) {
        if (!query_int(c, "since", 0, INT64_MAX, 0, &since) ||
            !query_int(c, "wait", 0, API_WAIT_MAX_MS, 0, &wait))
            return send_error(c, MAMORI_ERR_INVAL, "since: 0.., wait: 0..60000 ms");
        k->since = (uint64_t)since;
        if ((uint64_t)since >= a->seq && wait > 0) {
            for (size_t i = 0; i < API_WAITERS_MAX; i++)
                if (a->waiters[i] == NULL) {
                    a->waiters[i] = k;
                    k->waiting = true;
                    k->deadline = evloop_now_ms() + wait;
                    MHD_suspend_connection(c);
                    return MHD_YES;
                }
            return send_error(c, MAMORI_ERR_LIMIT, "too many waiting event streams");
        }
    }
    k->waiting = false;
    return send_json(c, 200, events_since(a, k->since));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    struct api *a = cls;
    struct conn *k = *con_cls;
    struct api_req *r;
    json_t *res = NULL;
    const char *emsg = NULL;
    char msg[160];
    enum MHD_Result ret;
    int rc;
    (void)version;
    if (k == NULL) {
        if ((k = calloc(1, sizeof(*k))) == NULL)
            return MHD_NO;
        k->a = a;
        k->c = c;
        *con_cls = k;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!k->toobig && k->n + *upload_size <= API_BODY_MAX) {
            /* one buffer of the limit: no realloc leaving copies of secrets */
            if (k->body == NULL && (k->body = malloc(API_BODY_MAX + 1)) == NULL)
                return MHD_NO;
            memcpy(k->body + k->n, upload, *upload_size);
            k->n += *upload_size;
        } else {
            k->toobig = true; /* keep reading, answer 413 at the end */
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (k->woke)
        return do_events(a, k, c);
    if (k->toobig)
        return send_error(c, MAMORI_ERR_TOOBIG, "request body too large");
    if ((r = api_req_new()) == NULL)
        return send_error(c, MAMORI_ERR_NOMEM, NULL);
    rc = api_parse(method, url, k->body, k->n, r, msg, sizeof(msg));
    if (rc != 0) {
        ret = send_error(c, rc, msg);
    } else if (r->op == API_EVENTS) {
        ret = do_events(a, k, c);
    } else if (r->op == API_JOURNAL_SEARCH) {
        const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
        const char *op = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "operator");
        int64_t limit;
        if (!query_int(c, "limit", 1, API_SEARCH_MAX, 50, &limit) ||
            (code && strlen(code) >= TXN_CODE_MAX) || (op && strlen(op) >= TXN_ID_MAX))
            ret = send_error(c, MAMORI_ERR_INVAL, "limit 1..200, code and operator short");
        else if ((rc = search_journal(a->env.journal, code, op, limit, &res)) != 0)
            ret = send_error(c, rc, NULL);
        else
            ret = send_json(c, 200, res);
    } else if (strcmp(url, "/v1/state") == 0 && a->env.devices != NULL &&
               MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "devices") != NULL) {
        res = api_state_json(a->env.txn);
        json_object_set_new(res, "devices", a->env.devices(a->env.ctx));
        ret = send_json(c, 200, res);
    } else {
        api_enter(a);
        rc = api_exec(&a->env, r, &res, &emsg);
        api_leave(a);
        if (rc != 0) {
            api_event(a, "refused", json_pack("{s:s,s:i,s:s}", "path", url, "code", rc,
                                              "message", emsg ? emsg : ""));
            ret = send_error(c, rc, emsg);
        } else {
            if (r->op != API_STATE)
                api_event(a, "register", json_pack("{s:s,s:O}", "path", url, "state",
                                                   json_object_get(res, "state")));
            ret = send_json(c, 200, res);
        }
    }
    api_req_free(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api *a = cls;
    struct conn *k = *con_cls;
    (void)c;
    (void)toe;
    if (k == NULL)
        return;
    for (size_t i = 0; i < API_WAITERS_MAX; i++)
        if (a->waiters[i] == k)
            a->waiters[i] = NULL;
    if (k->body != NULL)
        secmem_wipe(k->body, k->n); /* may hold passwords or member numbers */
    free(k->body);
    free(k);
    *con_cls = NULL;
}

static void on_kick(struct evloop *l, void *ctx);

/* Run one daemon; when MHD says more work is due soon (data already read,
 * a response to send), come back after that instead of at the next tick. */
static void run_one(struct api *a, int i)
{
    MHD_UNSIGNED_LONG_LONG to = 0;
    (void)MHD_run(a->d[i]);
    if (MHD_get_timeout(a->d[i], &to) == MHD_YES && to < 100 && a->kick == 0)
        (void)evloop_timer(a->l, (int64_t)to, on_kick, a, &a->kick);
}

static void run_mhd(struct api *a)
{
    for (int i = 0; i < API_DAEMONS; i++)
        if (a->d[i] != NULL)
            run_one(a, i);
}

static void on_kick(struct evloop *l, void *ctx)
{
    struct api *a = ctx;
    (void)l;
    a->kick = 0;
    if (a->depth == 0)
        run_mhd(a);
}

static void on_epoll(struct evloop *l, int fd, uint32_t ev, void *ctx)
{
    struct api *a = ctx;
    (void)ev;
    for (int i = 0; i < API_DAEMONS; i++) {
        if (a->epfd[i] != fd)
            continue;
        if (a->depth > 0) {
            /* the register is busy (nested loop inside a device call): park */
            evloop_del_fd(l, fd);
            a->parked[i] = true;
            return;
        }
        run_one(a, i);
    }
}

static void on_timer(struct evloop *l, void *ctx)
{
    struct api *a = ctx;
    if (a->depth == 0) {
        wake_waiters(a, true);
        run_mhd(a);
    }
    (void)evloop_timer(l, 100, on_timer, a, &a->timer);
}

void api_enter(struct api *a)
{
    if (a != NULL)
        a->depth++;
}

void api_leave(struct api *a)
{
    if (a == NULL || a->depth == 0)
        return;
    if (--a->depth > 0)
        return;
    for (int i = 0; i < API_DAEMONS; i++)
        if (a->parked[i]) {
            a->parked[i] = false;
            (void)evloop_add_fd(a->l, a->epfd[i], EVLOOP_READ, on_epoll, a);
        }
    /* serve what arrived meanwhile without waiting for the tick */
    if (a->kick == 0)
        (void)evloop_timer(a->l, 0, on_kick, a, &a->kick);
}

bool api_busy(const struct api *a)
{
    return a != NULL && a->depth > 0;
}

void api_event(struct api *a, const char *type, json_t *data)
{
    json_t *e;
    struct timespec ts;
    if (a == NULL) {
        json_decref(data);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    e = json_pack("{s:I,s:s,s:I,s:o}", "seq", (json_int_t)(a->seq + 1), "type", type, "time_ms",
                  (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                  "data", data ? data : json_null());
    if (e == NULL)
        return;
    a->seq++;
    json_decref(a->ring[a->seq % API_EVENTS_MAX].ev);
    a->ring[a->seq % API_EVENTS_MAX].ev = e;
    a->ring[a->seq % API_EVENTS_MAX].seq = a->seq;
    wake_waiters(a, false);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;
    mode_t old;
    if (strlen(path) >= sizeof(sa.sun_path))
        return MAMORI_ERR_TOOBIG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return MAMORI_ERR_SYS;
    (void)unlink(path);
    old = umask(0177);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
        umask(old);
        close(fd);
        return MAMORI_ERR_IO;
    }
    umask(old);
    return fd;
}

static int listen_tcp(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return MAMORI_ERR_SYS;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return MAMORI_ERR_IO;
    }
    return fd;
}

static int start_daemon(struct api *a, int i, int lfd)
{
    const union MHD_DaemonInfo *info;
    a->d[i] = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                               on_request, a, MHD_OPTION_LISTEN_SOCKET, lfd,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONNS_MAX,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_END);
    if (a->d[i] == NULL) {
        close(lfd);
        return MAMORI_ERR_SYS;
    }
    info = MHD_get_daemon_info(a->d[i], MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL)
        return MAMORI_ERR_SYS;
    a->epfd[i] = info->epoll_fd;
    return evloop_add_fd(a->l, a->epfd[i], EVLOOP_READ, on_epoll, a);
}

int api_new(struct evloop *l, const struct api_config *cfg, const struct api_env *env,
            struct api **ret)
{
    struct api *a = calloc(1, sizeof(*a));
    int fd, rc;
    if (a == NULL)
        return MAMORI_ERR_NOMEM;
    a->l = l;
    a->env = *env;
    a->epfd[0] = a->epfd[1] = -1;
    if (strlen(cfg->socket_path) >= sizeof(a->path)) {
        free(a);
        return MAMORI_ERR_TOOBIG;
    }
    snprintf(a->path, sizeof(a->path), "%s", cfg->socket_path);
    if ((fd = listen_unix(a->path)) < 0) {
        rc = fd;
        goto fail;
    }
    if ((rc = start_daemon(a, 0, fd)) != 0)
        goto fail;
    if (cfg->tcp_port > 0) {
        if (cfg->tcp_port > 65535 || (fd = listen_tcp(cfg->tcp_port)) < 0) {
            rc = cfg->tcp_port > 65535 ? MAMORI_ERR_CONFIG : fd;
            goto fail;
        }
        if ((rc = start_daemon(a, 1, fd)) != 0)
            goto fail;
    }
    if ((rc = evloop_timer(l, 100, on_timer, a, &a->timer)) != 0)
        goto fail;
    *ret = a;
    return 0;
fail:
    api_free(a);
    return rc;
}

void api_free(struct api *a)
{
    if (a == NULL)
        return;
    evloop_timer_cancel(a->l, a->timer);
    evloop_timer_cancel(a->l, a->kick);
    for (int i = 0; i < API_DAEMONS; i++) {
        if (a->epfd[i] >= 0 && !a->parked[i])
            evloop_del_fd(a->l, a->epfd[i]);
        if (a->d[i] != NULL) {
            wake_waiters(a, false);
            MHD_stop_daemon(a->d[i]);
        }
    }
    if (a->path[0])
        (void)unlink(a->path);
    for (size_t i = 0; i < API_EVENTS_MAX; i++)
        json_decref(a->ring[i].ev);
    free(a);
}
