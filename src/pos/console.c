/*
 * console.c: owns the register console's command language: tokenizing a
 * line, mapping each command to one engine call (txn.h, tender.h, report.h)
 * and printing the result. It must not own any register rule: every
 * validation happens in the engine, so the console and the HTTP API refuse
 * exactly the same things.
 */
#include "pos/console.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mamori/err.h"
#include "pos/escpos_decode.h"
#include "pos/report.h"
#include "pos/tender.h"
#include "pos/txnprint.h"

struct console {
    struct txn *t;
    struct posdev_sim *sim;
    FILE *out;
    struct {
        const char *name;
        console_hook_fn fn;
        void *ctx;
    } hooks[CONSOLE_HOOKS_MAX];
    size_t n_hooks;
};

void console_set_output(struct console *c, FILE *out)
{
    c->out = out;
}

int console_set_hook(struct console *c, const char *name, console_hook_fn fn, void *ctx)
{
    size_t i;
    for (i = 0; i < c->n_hooks && strcmp(c->hooks[i].name, name) != 0; i++)
        ;
    if (i == CONSOLE_HOOKS_MAX)
        return MAMORI_ERR_LIMIT;
    c->hooks[i].name = name;
    c->hooks[i].fn = fn;
    c->hooks[i].ctx = ctx;
    if (i == c->n_hooks)
        c->n_hooks++;
    return 0;
}

int console_tokenize(const char *line, size_t n, char *buf, size_t cap,
                     char *tok[static CONSOLE_TOKENS_MAX], size_t *ret_n)
{
    size_t nt = 0, o = 0, i = 0;
    if (n > CONSOLE_LINE_MAX || cap < n + 1)
        return MAMORI_ERR_TOOBIG;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    for (size_t k = 0; k < n; k++)
        if (line[k] == '\0' || ((unsigned char)line[k] < 0x20 && line[k] != '\t') ||
            line[k] == 0x7f)
            return MAMORI_ERR_INVAL;
    while (i < n) {
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == n || line[i] == '#')
            break;
        if (nt == CONSOLE_TOKENS_MAX)
            return MAMORI_ERR_TOOBIG;
        tok[nt++] = buf + o;
        while (i < n && line[i] != ' ' && line[i] != '\t')
            buf[o++] = line[i++];
        buf[o++] = '\0';
    }
    *ret_n = nt;
    return 0;
}

int console_new(struct txn *t, struct posdev_sim *sim, FILE *out, struct console **ret)
{
    struct console *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    c->t = t;
    c->sim = sim;
    c->out = out;
    *ret = c;
    return 0;
}

void console_free(struct console *c)
{
    free(c);
}

static int num(const char *s, int64_t lo, int64_t hi, int64_t *ret)
{
    char *end = NULL;
    long long v;
    if (s == NULL || *s == '\0' || (!isdigit((unsigned char)*s) && *s != '-'))
        return MAMORI_ERR_INVAL;
    v = strtoll(s, &end, 10);
    if (*end != '\0' && !(*end == '%' && end[1] == '\0'))
        return MAMORI_ERR_INVAL;
    if (v < lo || v > hi)
        return MAMORI_ERR_INVAL;
    *ret = (int64_t)v;
    return 0;
}

static bool is_pct(const char *s)
{
    size_t n = strlen(s);
    return n > 1 && s[n - 1] == '%';
}

static void print_state(struct console *c)
{
    const struct txn_rec *r = txn_current(c->t);
    struct txn_totals t;
    if (r == NULL || txn_totals(c->t, &t))
        return;
    fprintf(c->out, "  total ¥%" PRId64 "  paid ¥%" PRId64 "  due ¥%" PRId64 "\n", t.total,
            t.paid, t.due);
}

static void print_lines(struct console *c)
{
    const struct txn_rec *r = txn_current(c->t);
    if (r == NULL) {
        fprintf(c->out, "  (no transaction)\n");
        return;
    }
    fprintf(c->out, "  txn %" PRId64 "%s%s\n", r->txn_no, r->training ? " [training]" : "",
            r->is_return ? " [return]" : "");
    for (size_t i = 0; i < r->n_lines; i++) {
        const struct txn_line *l = &r->lines[i];
        fprintf(c->out, "  %3d %s %-20s x%-4d ¥%" PRId64 "%s\n", l->no, l->reduced ? "※" : "  ",
                l->name, l->qty, txn_line_net(l), l->voided ? " (void)" : "");
    }
    print_state(c);
}

static int print_receipt(struct console *c)
{
    size_t n = 0;
    const uint8_t *p;
    struct escpos_doc *d = NULL;
    int rc;
    if (c->sim == NULL)
        return MAMORI_ERR_UNSUPPORTED;
    p = posdev_sim_last_print(c->sim, &n);
    if (p == NULL)
        return MAMORI_ERR_NOTFOUND;
    if ((rc = escpos_decode(p, n, &d)))
        return rc;
    fprintf(c->out, "  ---- receipt ----\n");
    for (size_t i = 0; i < d->n_lines; i++)
        fprintf(c->out, "  | %s\n", d->lines[i]);
    escpos_doc_free(d);
    return 0;
}

static int print_report(struct console *c, const struct report_totals *r, bool z)
{
    char *text = NULL;
    int rc = report_text(r, z, &text);
    if (rc == 0) {
        fputs(text, c->out);
        free(text);
    }
    return rc;
}

static const char HELP[] =
    "  signon ID PW | signon2 CHECKER PW CASHIER PW | signoff | training on|off\n"
    "  scan CODE [QTY] | plu N [QTY] | dept N PRICE [QTY] | weigh CODE | qty LINE N\n"
    "  void LINE [MGR PW] | disc LINE YEN|PCT% [MGR PW] | override LINE PRICE MGR PW\n"
    "  eatin on|off | subtotal | subdisc YEN|PCT% [MGR PW] | age | cancel MGR PW\n"
    "  cash YEN | deposit | gift FACE [NO] | coupon CODE [YYYYMMDD] | member NO | points N\n"
    "  return RECEIPT MGR PW | rline LINE QTY | refund [KIND] | suspend | resume SLIP\n"
    "  open FUND | close | x | z | pickup|paidin|paidout YEN MGR PW | nosale MGR PW\n"
    "  declare N10000 N5000 N2000 N1000 N500 N100 N50 N10 N5 N1 | reprint RECEIPT\n"
    "  show | receipt | sim scale GRAMS stable|unstable | sim confirm yes|no\n"
    "  sim insert YEN\n";

static int today(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The manager credential in tok[i], tok[i+1] (absent: NULL). */
static const struct txn_cred *cred(char **tok, size_t n, size_t i, struct txn_cred *buf)
{
    if (n < i + 2)
        return NULL;
    buf->id = tok[i];
    buf->password = tok[i + 1];
    return buf;
}

static int dispatch(struct console *c, char **tok, size_t n)
{
    struct txn *t = c->t;
    struct txn_cred cb;
    int64_t a = 0, b = 0, q = 1;
    const char *cmd = tok[0];
    int rc;
#define ARG(i, lo, hi, v) \
    if (n <= (i) || num(tok[i], (lo), (hi), &(v))) return MAMORI_ERR_INVAL
#define OPT(i, lo, hi, v) \
    if (n > (i) && num(tok[i], (lo), (hi), &(v))) return MAMORI_ERR_INVAL
    for (size_t i = 0; i < c->n_hooks; i++)
        if (!strcmp(cmd, c->hooks[i].name))
            return c->hooks[i].fn(c->hooks[i].ctx, tok, n);
    if (!strcmp(cmd, "help")) {
        fputs(HELP, c->out);
        return 0;
    }
    if (!strcmp(cmd, "signon") && n == 3)
        return txn_signon(t, tok[1], tok[2]);
    if (!strcmp(cmd, "signon2") && n == 5)
        return txn_signon_pair(t, tok[1], tok[2], tok[3], tok[4]);
    if (!strcmp(cmd, "signoff"))
        return txn_signoff(t);
    if (!strcmp(cmd, "training") && n == 2)
        return txn_set_training(t, !strcmp(tok[1], "on"));
    if (!strcmp(cmd, "scan") && n >= 2) {
        OPT(2, -1000000, 1000000, q);
        return txn_scan(t, tok[1], (int32_t)q);
    }
    if (!strcmp(cmd, "plu") && n >= 2) {
        OPT(2, -1000000, 1000000, q);
        return txn_plu(t, tok[1], (int32_t)q);
    }
    if (!strcmp(cmd, "dept")) {
        ARG(1, 0, 1000000, a);
        ARG(2, -TXN_PRICE_MAX * 100LL, TXN_PRICE_MAX * 100LL, b);
        OPT(3, -1000000, 1000000, q);
        return txn_dept(t, (int)a, b, (int32_t)q);
    }
    if (!strcmp(cmd, "weigh") && n == 2)
        return txn_weighed(t, tok[1]);
    if (!strcmp(cmd, "qty")) {
        ARG(1, 0, TXN_LINES_MAX + 1, a);
        ARG(2, -1000000, 1000000, q);
        return txn_set_qty(t, (int)a, (int32_t)q);
    }
    if (!strcmp(cmd, "void")) {
        ARG(1, 0, TXN_LINES_MAX + 1, a);
        return txn_void_line(t, (int)a, cred(tok, n, 2, &cb));
    }
    if (!strcmp(cmd, "disc")) {
        ARG(1, 0, TXN_LINES_MAX + 1, a);
        ARG(2, -TXN_PRICE_MAX * 100LL, TXN_PRICE_MAX * 100LL, b);
        return is_pct(tok[2]) ? txn_item_discount(t, (int)a, 0, (int)b, cred(tok, n, 3, &cb))
                              : txn_item_discount(t, (int)a, b, 0, cred(tok, n, 3, &cb));
    }
    if (!strcmp(cmd, "override")) {
        ARG(1, 0, TXN_LINES_MAX + 1, a);
        ARG(2, -TXN_PRICE_MAX * 100LL, TXN_PRICE_MAX * 100LL, b);
        return txn_price_override(t, (int)a, b, cred(tok, n, 3, &cb));
    }
    if (!strcmp(cmd, "eatin") && n == 2)
        return txn_set_eat_in(t, !strcmp(tok[1], "on"));
    if (!strcmp(cmd, "subtotal"))
        return txn_subtotal(t);
    if (!strcmp(cmd, "subdisc")) {
        ARG(1, -TAX_AMOUNT_MAX, TAX_AMOUNT_MAX, a);
        return is_pct(tok[1]) ? txn_subtotal_discount(t, 0, (int)a, cred(tok, n, 2, &cb))
                              : txn_subtotal_discount(t, a, 0, cred(tok, n, 2, &cb));
    }
    if (!strcmp(cmd, "age"))
        return txn_confirm_age(t);
    if (!strcmp(cmd, "cancel"))
        return txn_cancel(t, cred(tok, n, 1, &cb));
    if (!strcmp(cmd, "cash")) {
        ARG(1, -TAX_AMOUNT_MAX, TAX_AMOUNT_MAX, a);
        return tender_cash(t, a);
    }
    if (!strcmp(cmd, "deposit"))
        return tender_cash_deposit(t);
    if (!strcmp(cmd, "gift")) {
        ARG(1, -TAX_AMOUNT_MAX, TAX_AMOUNT_MAX, a);
        return tender_gift(t, a, n > 2 ? tok[2] : NULL);
    }
    if (!strcmp(cmd, "coupon") && n >= 2) {
        int64_t d = today();
        OPT(2, 0, 99991231, d);
        return tender_coupon(t, tok[1], (int)d);
    }
    if (!strcmp(cmd, "member") && n == 2)
        return tender_member(t, tok[1]);
    if (!strcmp(cmd, "points")) {
        ARG(1, -TAX_AMOUNT_MAX, TAX_AMOUNT_MAX, a);
        return tender_points(t, a);
    }
    if (!strcmp(cmd, "return")) {
        ARG(1, 0, INT64_MAX, a);
        return txn_return_begin(t, a, cred(tok, n, 2, &cb));
    }
    if (!strcmp(cmd, "rline")) {
        ARG(1, 0, TXN_LINES_MAX + 1, a);
        ARG(2, -1000000, 1000000, q);
        return txn_return_line(t, (int)a, (int32_t)q);
    }
    if (!strcmp(cmd, "refund"))
        return n > 1 ? tender_refund_external(t, tok[1]) : tender_refund_cash(t);
    if (!strcmp(cmd, "suspend")) {
        char slip[TXN_SLIP_LEN + 1];
        if ((rc = txn_suspend(t, slip)) == 0)
            fprintf(c->out, "  slip %s\n", slip);
        return rc;
    }
    if (!strcmp(cmd, "resume") && n == 2)
        return txn_resume(t, tok[1]);
    if (!strcmp(cmd, "open")) {
        ARG(1, -TAX_AMOUNT_MAX, TAX_AMOUNT_MAX, a);
        return report_day_open(t, a);
    }
    if (!strcmp(cmd, "close"))
        return report_day_close(t);
    if (!strcmp(cmd, "x") || !strcmp(cmd, "z")) {
        struct report_totals *r = malloc(sizeof(*r));
        if (r == NULL)
            return MAMORI_ERR_NOMEM;
        rc = cmd[0] == 'x' ? report_x(t, r) : report_z(t, r);
        if (rc == 0)
            rc = print_report(c, r, cmd[0] == 'z');
        free(r);
        return rc;
    }
    if (!strcmp(cmd, "pickup") || !strcmp(cmd, "paidin") || !strcmp(cmd, "paidout")) {
        enum report_move k = cmd[0] == 'p' && cmd[1] == 'i' ? REPORT_PICKUP
                             : !strcmp(cmd, "paidin")       ? REPORT_PAID_IN
                                                            : REPORT_PAID_OUT;
        ARG(1, -TAX_AMOUNT_MAX, TAX_AMOUNT_MAX, a);
        return report_cash_move(t, k, a, NULL, cred(tok, n, 2, &cb));
    }
    if (!strcmp(cmd, "nosale"))
        return report_no_sale(t, cred(tok, n, 1, &cb));
    if (!strcmp(cmd, "declare") && n == 1 + REPORT_DENOMS) {
        int64_t counts[REPORT_DENOMS];
        struct report_totals *r;
        for (int i = 0; i < REPORT_DENOMS; i++)
            ARG((size_t)i + 1, 0, REPORT_COUNT_MAX, counts[i]);
        if ((r = malloc(sizeof(*r))) == NULL)
            return MAMORI_ERR_NOMEM;
        rc = report_declare(t, counts, NULL, r);
        if (rc == 0)
            fprintf(c->out, "  declared ¥%" PRId64 " expected ¥%" PRId64 " over/short ¥%" PRId64
                            "\n", r->declared_amount, r->cash_expected, r->over_short);
        free(r);
        return rc;
    }
    if (!strcmp(cmd, "reprint")) {
        ARG(1, 1, INT64_MAX, a);
        return txnprint_reprint(t, a);
    }
    if (!strcmp(cmd, "show")) {
        print_lines(c);
        return 0;
    }
    if (!strcmp(cmd, "receipt"))
        return print_receipt(c);
    if (!strcmp(cmd, "sim") && n >= 3 && c->sim != NULL) {
        if (!strcmp(tok[1], "scale") && n == 4) {
            ARG(2, 0, TXN_GRAMS_MAX * 10LL, a);
            posdev_sim_set_scale(c->sim, (int32_t)a, !strcmp(tok[3], "stable"));
            return 0;
        }
        if (!strcmp(tok[1], "confirm")) {
            posdev_sim_set_confirm(c->sim, !strcmp(tok[2], "yes"));
            return 0;
        }
        if (!strcmp(tok[1], "insert")) {
            ARG(2, 0, TAX_AMOUNT_MAX, a);
            posdev_sim_set_deposit(c->sim, a);
            return 0;
        }
    }
#undef ARG
#undef OPT
    txn_set_error(t, "unknown command or wrong arguments (try help)");
    return MAMORI_ERR_INVAL;
}

int console_line(struct console *c, const char *line)
{
    char buf[CONSOLE_LINE_MAX + 1], *tok[CONSOLE_TOKENS_MAX];
    size_t n = 0, len = strlen(line);
    bool expect_fail = false;
    int64_t before = txn_last_receipt(c->t);
    int rc;
    txn_set_error(c->t, "");
    if ((rc = console_tokenize(line, len, buf, sizeof(buf), tok, &n))) {
        fprintf(c->out, "ERROR line refused: %s\n", mamori_strerror(rc));
        return rc;
    }
    if (n == 0)
        return 0;
    if (tok[0][0] == '!') {
        expect_fail = true;
        if (tok[0][1] == '\0') {
            if (n == 1)
                return MAMORI_ERR_INVAL;
            memmove(tok, tok + 1, (n - 1) * sizeof(tok[0]));
            n--;
        } else {
            tok[0]++;
        }
    }
    rc = dispatch(c, tok, n);
    if (rc) {
        const char *why = txn_last_error(c->t);
        fprintf(c->out, "%s %s: %s%s%s\n", expect_fail ? "REFUSED (expected)" : "ERROR", tok[0],
                why[0] ? why : mamori_strerror(rc), why[0] ? " / " : "",
                why[0] ? mamori_strerror(rc) : "");
        return expect_fail ? 0 : rc;
    }
    if (expect_fail) {
        fprintf(c->out, "ERROR %s: succeeded but a refusal was expected\n", tok[0]);
        return MAMORI_ERR_STATE;
    }
    if (txn_last_receipt(c->t) != before)
        fprintf(c->out, "OK %s: receipt %" PRId64 " complete, change ¥%" PRId64 "\n", tok[0],
                txn_last_receipt(c->t), txn_last_change(c->t));
    else {
        fprintf(c->out, "OK %s\n", tok[0]);
        if (txn_current(c->t) != NULL && strcmp(tok[0], "show") != 0)
            print_state(c);
    }
    return 0;
}

/* Echo a script line; lines carrying a password show only the command. */
static void echo_line(struct console *c, const char *line)
{
    static const char *const secret[] = {"signon", "signon2", "void", "disc", "override",
                                         "subdisc", "cancel", "return", "pickup", "paidin",
                                         "paidout", "nosale"};
    char buf[CONSOLE_LINE_MAX + 1], *tok[CONSOLE_TOKENS_MAX];
    size_t n = 0;
    if (console_tokenize(line, strlen(line), buf, sizeof(buf), tok, &n) || n == 0)
        return;
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        const char *cmd = tok[0][0] == '!' ? tok[0] + 1 : tok[0];
        if (strcmp(cmd, secret[i]) == 0 && n > 2) {
            fprintf(c->out, "> %s %s ... (credentials not echoed)\n", tok[0], tok[1]);
            return;
        }
    }
    fprintf(c->out, ">");
    for (size_t i = 0; i < n; i++)
        fprintf(c->out, " %s", tok[i]);
    fprintf(c->out, "\n");
}

int console_run(struct console *c, FILE *in, bool keep_going, bool echo)
{
    char line[CONSOLE_LINE_MAX + 2];
    int first = 0, rc;
    unsigned long no = 0;
    while (fgets(line, sizeof(line), in) != NULL) {
        no++;
        if (strchr(line, '\n') == NULL && !feof(in)) {
            fprintf(c->out, "ERROR line %lu: longer than %d bytes\n", no, CONSOLE_LINE_MAX);
            return MAMORI_ERR_TOOBIG;
        }
        if (echo)
            echo_line(c, line);
        rc = console_line(c, line);
        if (rc && first == 0)
            first = rc;
        if (rc && !keep_going) {
            fprintf(c->out, "stopped at line %lu\n", no);
            return rc;
        }
    }
    return first;
}
