/*
 * mamori register: the operator's console of the register hosted in
 * mamori-terminald (OPS-1..6): a line-oriented POS keyboard talking to the
 * register API (src/pos/api.h) on its unix socket.
 *
 *   mamori register (--state DIR | --socket PATH) [--script FILE] [--json]
 *
 * Owns argument handling, the command language, password entry and the
 * printing of responses; every operation is the API's.
 *
 * Passwords are read without echo from the terminal; when input is not a
 * terminal (a pipe or --script), the password is the next input line.
 * Scripts holding passwords are for tests and the demo only.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/regclient.h"
#include "common/secmem.h"
#include "mamori/err.h"

#define REG_LINE_MAX 1024      /* one command line */
#define REG_PW_MAX 258         /* password line incl. newline and NUL */
#define REG_ARGS_MAX 16
#define REG_TIMEOUT_MS 180000  /* a change machine deposit waits for the shopper */

static const char usage_text[] =
    "usage: mamori register (--state DIR | --socket PATH) [--script FILE] [--json]\n"
    "  --state DIR     mamori-terminald's state directory: its socket DIR/pos.sock\n"
    "  --socket PATH   the register API socket of mamori-terminald (another [pos] api_socket)\n"
    "  --script FILE   run the commands in FILE, print each response, then exit\n"
    "                  (a line starting with '!' is expected to be refused)\n"
    "  --json          print the raw JSON responses\n"
    "Type 'help' for the commands. Passwords are read without echo on a terminal,\n"
    "otherwise from the next input line (scripts with passwords: tests/demo only).\n"
    "exit: 0 ok, 1 a command failed (or an expected refusal did not happen), 2 usage\n";

static const char help_text[] =
    "sign-on      signon ID | signon2 CHECKER CASHIER | signoff | training on|off\n"
    "day          open [FUND] | close | pickup|paidin|paidout|fund AMOUNT [@MGR] | nosale [@MGR]\n"
    "             declare 10000=N 5000=N ... 1=N [changer 1000=N ...] (drawer [, change\n"
    "             machine counted]) | xreport | zreport (printed)\n"
    "register     CODE | scan CODE [QTY] | qty N (next item) | setqty LINE N | plu NO [QTY]\n"
    "             dept D PRICE [QTY] | weigh CODE | void LINE [@MGR] | cancel [@MGR]\n"
    "             discount LINE|sub AMOUNT|N% [@MGR] | override LINE PRICE [@MGR]\n"
    "             subtotal | eatin | takeout | age\n"
    "tender       cash [AMOUNT] (no amount: change machine) | gift AMOUNT [CERT] | coupon CODE\n"
    "             points MEMBERNO (attach card) | redeem POINTS | external KIND AMOUNT | refund\n"
    "modes        suspend | resume SLIP | return RECEIPTNO [@MGR] | retline LINE [QTY]\n"
    "journal      journal RECEIPTNO | search CODE | reprint RECEIPTNO | reprint z ZNO\n"
    "             state | events [SINCE]\n"
    "             help | quit\n"
    "@MGR asks for that manager's password (approval).\n";

struct reg {
    const char *sock;
    FILE *in;
    bool tty;
    bool json;
    int qty;          /* pending quantity for the next item */
    int failures;
};

/* A password: no echo on a terminal, else the next input line. */
static char *read_password(struct reg *r, const char *who)
{
    char *pw = secmem_new(REG_PW_MAX);
    struct termios old, noecho;
    bool restore = false;
    if (pw == NULL)
        return NULL;
    if (r->tty) {
        /* echo off first, then the prompt: nothing typed after the prompt is
         * echoed, and nothing typed is thrown away (TCSANOW, not TCSAFLUSH) */
        if (tcgetattr(fileno(r->in), &old) == 0) {
            noecho = old;
            noecho.c_lflag &= ~(tcflag_t)ECHO;
            restore = tcsetattr(fileno(r->in), TCSANOW, &noecho) == 0;
        }
        fprintf(stderr, "password for %s: ", who);
        fflush(stderr);
    }
    if (fgets(pw, REG_PW_MAX, r->in) == NULL) {
        secmem_free(pw);
        pw = NULL;
    } else {
        pw[strcspn(pw, "\r\n")] = '\0';
    }
    if (restore) {
        tcsetattr(fileno(r->in), TCSANOW, &old);
        fputc('\n', stderr);
    }
    return pw;
}

static const char *str_or(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "?";
}

static void print_yen(const char *label, json_t *v)
{
    if (json_is_integer(v))
        printf("%s ¥%lld", label, (long long)json_integer_value(v));
}

static void print_state(json_t *st, bool all_lines)
{
    json_t *lines = json_object_get(st, "lines");
    size_t n = json_array_size(lines);
    const char *state = json_string_value(json_object_get(st, "state"));
    if (n > 0) {
        for (size_t i = all_lines ? 0 : n - 1; i < n; i++) {
            json_t *l = json_array_get(lines, i);
            printf("  %2lld %s%s x%lld ¥%lld%s\n", (long long)json_integer_value(json_object_get(l, "no")),
                   str_or(json_object_get(l, "name")),
                   json_is_true(json_object_get(l, "reduced")) ? "※" : "",
                   (long long)json_integer_value(json_object_get(l, "qty")),
                   (long long)json_integer_value(json_object_get(l, "amount")),
                   json_is_true(json_object_get(l, "voided")) ? " (void)" : "");
        }
    }
    printf("[%s%s] %s", json_is_true(json_object_get(st, "training")) ? "TRAINING " : "",
           state ? state : "?",
           json_string_value(json_object_get(st, "operator")) ? json_string_value(json_object_get(st, "operator")) : "-");
    print_yen("  total", json_object_get(st, "total"));
    print_yen("  paid", json_object_get(st, "paid"));
    print_yen("  due", json_object_get(st, "due"));
    printf("\n");
}

/* Send and print; returns 0 when the register accepted it. */
static int call(struct reg *r, const char *method, const char *path, json_t *body, bool all)
{
    json_t *res = NULL, *v;
    int status = 0, rc = regclient_call(r->sock, method, path, body, REG_TIMEOUT_MS, &status, &res);
    json_decref(body);
    if (rc != 0) {
        printf("error: register API at %s: %s\n", r->sock, mamori_strerror(rc));
        return rc;
    }
    if (r->json) {
        char *s = json_dumps(res, JSON_COMPACT);
        printf("%s\n", s ? s : "?");
        free(s);
    }
    if (status != 200) {
        printf("error: %s [%s %lld]\n", str_or(json_object_get(res, "message")),
               str_or(json_object_get(res, "error")),
               (long long)json_integer_value(json_object_get(res, "code")));
        rc = (int)json_integer_value(json_object_get(res, "code"));
        json_decref(res);
        return rc < 0 ? rc : MAMORI_ERR_INTERNAL;
    }
    if (!r->json) {
        if ((v = json_object_get(res, "receipt")) && json_is_integer(v))
            printf("receipt No.%lld  change ¥%lld\n", (long long)json_integer_value(v),
                   (long long)json_integer_value(json_object_get(res, "change")));
        if ((v = json_object_get(res, "slip")))
            printf("slip %s\n", str_or(v));
        if ((v = json_object_get(res, "report")))
            printf("%s", json_string_value(json_object_get(v, "text")) ? json_string_value(json_object_get(v, "text")) : "");
        if ((v = json_object_get(res, "reconciliation")) && json_string_value(json_object_get(v, "text")))
            printf("%s", json_string_value(json_object_get(v, "text"))); /* Z: cash reconciliation (issue 5) */
        if ((v = json_object_get(res, "printed")))
            printf("%s\n", json_is_true(v) ? "printed on the receipt printer"
                                           : str_or(json_object_get(res, "print_error")));
        if ((v = json_object_get(res, "receipts"))) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
                printf("  No.%lld %s ¥%lld %s\n", (long long)json_integer_value(json_object_get(x, "receipt")),
                       str_or(json_object_get(x, "kind")),
                       (long long)json_integer_value(json_object_get(x, "total")),
                       str_or(json_object_get(x, "operator")));
        }
        if ((v = json_object_get(res, "events"))) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                char *s = json_dumps(x, JSON_COMPACT);
                printf("  %s\n", s ? s : "?");
                free(s);
            }
        }
        if ((v = json_object_get(res, "state")))
            print_state(v, all);
    }
    json_decref(res);
    return 0;
}

static bool parse_int(const char *s, long long lo, long long hi, long long *ret)
{
    char *end;
    long long v;
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *ret = v;
    return true;
}

/* Attach {"manager": {...}} when the last argument is @ID. */
static int take_manager(struct reg *r, int *argc, char **argv, json_t *body)
{
    char *pw;
    if (*argc < 2 || argv[*argc - 1][0] != '@')
        return 0;
    if ((pw = read_password(r, argv[*argc - 1] + 1)) == NULL)
        return MAMORI_ERR_INVAL;
    json_object_set_new(body, "manager",
                        json_pack("{s:s,s:s}", "id", argv[*argc - 1] + 1, "password", pw));
    secmem_free(pw);
    (*argc)--;
    return 0;
}

#define NEED(cond)                                                                      \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            json_decref(body);                                                          \
            printf("error: usage of '%s' (type help)\n", cmd);                          \
            return MAMORI_ERR_INVAL;                                                    \
        }                                                                               \
    } while (0)

static int command(struct reg *r, int argc, char **argv)
{
    const char *cmd = argv[0];
    json_t *body = json_object();
    long long a = 0, b = 0;
    char *pw, *pw2;
    if (take_manager(r, &argc, argv, body) != 0) {
        json_decref(body);
        return MAMORI_ERR_INVAL;
    }
    if (strspn(cmd, "0123456789") == strlen(cmd) && argc == 1) {
        json_object_set_new(body, "code", json_string(cmd));
        if (r->qty > 1)
            json_object_set_new(body, "qty", json_integer(r->qty));
        r->qty = 0;
        return call(r, "POST", "/v1/scan", body, false);
    }
    if (strcmp(cmd, "help") == 0) {
        json_decref(body);
        fputs(help_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "signon") == 0) {
        NEED(argc == 2);
        if ((pw = read_password(r, argv[1])) == NULL) {
            json_decref(body);
            return MAMORI_ERR_INVAL;
        }
        json_object_set_new(body, "id", json_string(argv[1]));
        json_object_set_new(body, "password", json_string(pw));
        secmem_free(pw);
        return call(r, "POST", "/v1/signon", body, false);
    }
    if (strcmp(cmd, "signon2") == 0) {
        NEED(argc == 3);
        pw = read_password(r, argv[1]);
        pw2 = pw ? read_password(r, argv[2]) : NULL;
        if (pw2 == NULL) {
            secmem_free(pw);
            json_decref(body);
            return MAMORI_ERR_INVAL;
        }
        json_object_set_new(body, "checker", json_string(argv[1]));
        json_object_set_new(body, "checker_password", json_string(pw));
        json_object_set_new(body, "cashier", json_string(argv[2]));
        json_object_set_new(body, "cashier_password", json_string(pw2));
        secmem_free(pw);
        secmem_free(pw2);
        return call(r, "POST", "/v1/signon/pair", body, false);
    }
    if (strcmp(cmd, "scan") == 0) {
        NEED(argc == 2 || (argc == 3 && parse_int(argv[2], 1, 9999, &a)));
        json_object_set_new(body, "code", json_string(argv[1]));
        if (argc == 3 || r->qty > 1)
            json_object_set_new(body, "qty", json_integer(argc == 3 ? a : r->qty));
        r->qty = 0;
        return call(r, "POST", "/v1/scan", body, false);
    }
    if (strcmp(cmd, "qty") == 0) {
        json_decref(body);
        if (argc != 2 || !parse_int(argv[1], 1, 9999, &a)) {
            printf("error: qty N (1..9999)\n");
            return MAMORI_ERR_INVAL;
        }
        r->qty = (int)a;
        printf("qty %lld for the next item\n", a);
        return 0;
    }
    if (strcmp(cmd, "plu") == 0) {
        NEED(argc == 2 || (argc == 3 && parse_int(argv[2], 1, 9999, &a)));
        json_object_set_new(body, "plu", json_string(argv[1]));
        if (argc == 3 || r->qty > 1)
            json_object_set_new(body, "qty", json_integer(argc == 3 ? a : r->qty));
        r->qty = 0;
        return call(r, "POST", "/v1/plu", body, false);
    }
    if (strcmp(cmd, "dept") == 0) {
        NEED((argc == 3 || argc == 4) && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a) &&
             parse_int(argv[2], LLONG_MIN, LLONG_MAX, &b));
        json_object_set_new(body, "dept", json_integer(a));
        json_object_set_new(body, "price", json_integer(b));
        if (argc == 4) {
            NEED(parse_int(argv[3], LLONG_MIN, LLONG_MAX, &a));
            json_object_set_new(body, "qty", json_integer(a));
        }
        return call(r, "POST", "/v1/dept", body, false);
    }
    if (strcmp(cmd, "weigh") == 0) {
        NEED(argc == 2);
        json_object_set_new(body, "code", json_string(argv[1]));
        return call(r, "POST", "/v1/weighed", body, false);
    }
    if (strcmp(cmd, "setqty") == 0) {
        NEED(argc == 3 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a) &&
             parse_int(argv[2], LLONG_MIN, LLONG_MAX, &b));
        json_object_set_new(body, "line", json_integer(a));
        json_object_set_new(body, "qty", json_integer(b));
        return call(r, "POST", "/v1/qty", body, true);
    }
    if (strcmp(cmd, "void") == 0) {
        NEED(argc == 2 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "line", json_integer(a));
        return call(r, "POST", "/v1/void", body, true);
    }
    if (strcmp(cmd, "cancel") == 0 || strcmp(cmd, "subtotal") == 0 ||
        strcmp(cmd, "signoff") == 0 || strcmp(cmd, "close") == 0 || strcmp(cmd, "age") == 0 ||
        strcmp(cmd, "suspend") == 0 || strcmp(cmd, "refund") == 0 ||
        strcmp(cmd, "xreport") == 0 || strcmp(cmd, "zreport") == 0 ||
        strcmp(cmd, "nosale") == 0) {
        static const char *const map[][2] = {
            {"cancel", "/v1/cancel"},   {"subtotal", "/v1/subtotal"},
            {"signoff", "/v1/signoff"}, {"close", "/v1/day/close"},
            {"age", "/v1/confirm-age"}, {"suspend", "/v1/suspend"},
            {"refund", "/v1/refund/cash"}, {"xreport", "/v1/report/x"},
            {"zreport", "/v1/report/z"}, {"nosale", "/v1/no-sale"},
        };
        NEED(argc == 1);
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(map[i][0], cmd) == 0)
                return call(r, "POST", map[i][1], body, strcmp(cmd, "subtotal") == 0);
    }
    if (strcmp(cmd, "open") == 0) {
        NEED(argc == 1 || (argc == 2 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a)));
        if (argc == 2)
            json_object_set_new(body, "change_fund", json_integer(a));
        return call(r, "POST", "/v1/day/open", body, false);
    }
    if (strcmp(cmd, "discount") == 0) {
        size_t l;
        NEED(argc == 3);
        if (strcmp(argv[1], "sub") != 0) {
            NEED(parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
            json_object_set_new(body, "line", json_integer(a));
        }
        l = strlen(argv[2]);
        if (l > 1 && argv[2][l - 1] == '%') {
            argv[2][l - 1] = '\0';
            NEED(parse_int(argv[2], LLONG_MIN, LLONG_MAX, &b));
            json_object_set_new(body, "percent", json_integer(b));
        } else {
            NEED(parse_int(argv[2], LLONG_MIN, LLONG_MAX, &b));
            json_object_set_new(body, "amount", json_integer(b));
        }
        return call(r, "POST", "/v1/discount", body, true);
    }
    if (strcmp(cmd, "override") == 0) {
        NEED(argc == 3 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a) &&
             parse_int(argv[2], LLONG_MIN, LLONG_MAX, &b));
        json_object_set_new(body, "line", json_integer(a));
        json_object_set_new(body, "price", json_integer(b));
        return call(r, "POST", "/v1/override", body, true);
    }
    if (strcmp(cmd, "eatin") == 0 || strcmp(cmd, "takeout") == 0) {
        NEED(argc == 1);
        json_object_set_new(body, "on", json_boolean(cmd[0] == 'e'));
        return call(r, "POST", "/v1/eat-in", body, true);
    }
    if (strcmp(cmd, "training") == 0) {
        NEED(argc == 2 && (strcmp(argv[1], "on") == 0 || strcmp(argv[1], "off") == 0));
        json_object_set_new(body, "on", json_boolean(strcmp(argv[1], "on") == 0));
        return call(r, "POST", "/v1/training", body, false);
    }
    if (strcmp(cmd, "cash") == 0) {
        NEED(argc == 1 || (argc == 2 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a)));
        if (argc == 2)
            json_object_set_new(body, "amount", json_integer(a));
        else
            printf("insert the cash into the change machine...\n");
        fflush(stdout);
        return call(r, "POST", "/v1/tender/cash", body, false);
    }
    if (strcmp(cmd, "gift") == 0) {
        NEED((argc == 2 || argc == 3) && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "amount", json_integer(a));
        if (argc == 3)
            json_object_set_new(body, "cert", json_string(argv[2]));
        return call(r, "POST", "/v1/tender/gift", body, false);
    }
    if (strcmp(cmd, "coupon") == 0) {
        NEED(argc == 2);
        json_object_set_new(body, "code", json_string(argv[1]));
        return call(r, "POST", "/v1/tender/coupon", body, false);
    }
    if (strcmp(cmd, "points") == 0 || strcmp(cmd, "member") == 0) {
        NEED(argc == 2);
        json_object_set_new(body, "member", json_string(argv[1]));
        return call(r, "POST", "/v1/member", body, false);
    }
    if (strcmp(cmd, "redeem") == 0) {
        NEED(argc == 2 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "points", json_integer(a));
        return call(r, "POST", "/v1/tender/points", body, false);
    }
    if (strcmp(cmd, "external") == 0) {
        NEED(argc == 3 && parse_int(argv[2], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "kind", json_string(argv[1]));
        json_object_set_new(body, "amount", json_integer(a));
        return call(r, "POST", "/v1/tender/external", body, false);
    }
    if (strcmp(cmd, "resume") == 0) {
        NEED(argc == 2);
        json_object_set_new(body, "slip", json_string(argv[1]));
        return call(r, "POST", "/v1/resume", body, true);
    }
    if (strcmp(cmd, "reprint") == 0 && argc == 3 && strcmp(argv[1], "z") == 0) {
        NEED(parse_int(argv[2], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "kind", json_string("z"));
        json_object_set_new(body, "receipt", json_integer(a));
        return call(r, "POST", "/v1/reprint", body, false);
    }
    if (strcmp(cmd, "return") == 0 || strcmp(cmd, "reprint") == 0) {
        NEED(argc == 2 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "receipt", json_integer(a));
        return call(r, "POST", cmd[1] == 'e' && cmd[2] == 't' ? "/v1/return" : "/v1/reprint",
                    body, false);
    }
    if (strcmp(cmd, "retline") == 0) {
        NEED((argc == 2 || argc == 3) && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "line", json_integer(a));
        if (argc == 3) {
            NEED(parse_int(argv[2], LLONG_MIN, LLONG_MAX, &b));
            json_object_set_new(body, "qty", json_integer(b));
        }
        return call(r, "POST", "/v1/return/line", body, true);
    }
    if (strcmp(cmd, "pickup") == 0 || strcmp(cmd, "paidin") == 0 ||
        strcmp(cmd, "paidout") == 0 || strcmp(cmd, "fund") == 0) {
        const char *path = cmd[0] == 'f'   ? "/v1/cash/change-fund"
                           : cmd[1] == 'i' ? "/v1/cash/pickup"
                           : cmd[4] == 'i' ? "/v1/cash/paid-in"
                                           : "/v1/cash/paid-out";
        NEED(argc == 2 && parse_int(argv[1], LLONG_MIN, LLONG_MAX, &a));
        json_object_set_new(body, "amount", json_integer(a));
        return call(r, "POST", path, body, false);
    }
    if (strcmp(cmd, "declare") == 0) {
        /* declare D=N ... [changer D=N ...]: the drawer, then what was counted
         * in the change machine; the register checks every count. */
        json_t *c = json_object(), *m = NULL, *into = c;
        NEED(argc >= 2);
        for (int i = 1; i < argc; i++) {
            char *eq = strchr(argv[i], '=');
            if (strcmp(argv[i], "changer") == 0 && m == NULL) {
                into = m = json_object();
                continue;
            }
            if (eq == NULL || !parse_int(eq + 1, LLONG_MIN, LLONG_MAX, &a) ||
                (*eq = '\0', json_object_get(into, argv[i]) != NULL)) {
                json_decref(c);
                json_decref(m);
                NEED(false);
            }
            json_object_set_new(into, argv[i], json_integer(a));
        }
        json_object_set_new(body, "counts", c);
        if (m != NULL)
            json_object_set_new(body, "changer_counts", m);
        return call(r, "POST", "/v1/declare", body, false);
    }
    if (strcmp(cmd, "journal") == 0 || strcmp(cmd, "search") == 0 ||
        strcmp(cmd, "state") == 0 || strcmp(cmd, "events") == 0) {
        char path[128];
        json_decref(body);
        body = NULL;
        if (strcmp(cmd, "journal") == 0 && argc == 2 && parse_int(argv[1], 1, 999999999999LL, &a))
            snprintf(path, sizeof(path), "/v1/journal/%lld", a);
        else if (strcmp(cmd, "search") == 0 && argc == 2 && strspn(argv[1], "0123456789") == strlen(argv[1]) &&
                 strlen(argv[1]) < 32)
            snprintf(path, sizeof(path), "/v1/journal?code=%s", argv[1]);
        else if (strcmp(cmd, "state") == 0 && argc == 1)
            snprintf(path, sizeof(path), "/v1/state");
        else if (strcmp(cmd, "events") == 0 && argc <= 2 &&
                 (argc == 1 || parse_int(argv[1], 0, LLONG_MAX, &a)))
            snprintf(path, sizeof(path), "/v1/events?since=%lld", argc == 2 ? a : 0);
        else
            NEED(false);
        if (strcmp(cmd, "journal") == 0 && !r->json) {
            /* the stored receipt is JSON: print it as is */
            json_t *res = NULL;
            int status = 0, rc = regclient_call(r->sock, "GET", path, NULL, REG_TIMEOUT_MS, &status, &res);
            char *s;
            if (rc != 0) {
                printf("error: %s\n", mamori_strerror(rc));
                return rc;
            }
            s = json_dumps(status == 200 ? json_object_get(res, "receipt") : res, JSON_INDENT(2));
            printf("%s%s\n", status == 200 ? "" : "error: ", s ? s : "?");
            free(s);
            json_decref(res);
            return status == 200 ? 0 : MAMORI_ERR_NOTFOUND;
        }
        return call(r, "GET", path, NULL, true);
    }
    json_decref(body);
    printf("error: unknown command '%s' (type help)\n", cmd);
    return MAMORI_ERR_INVAL;
}

static int run(struct reg *r)
{
    char line[REG_LINE_MAX];
    int rc = 0;
    for (;;) {
        char *argv[REG_ARGS_MAX], *save = NULL, *p;
        int argc = 0;
        bool expect_fail = false;
        if (r->tty) {
            printf("register> ");
            fflush(stdout);
        }
        if (fgets(line, sizeof(line), r->in) == NULL)
            break;
        if (strchr(line, '\n') == NULL && !feof(r->in)) {
            printf("error: line too long\n");
            int c;
            while ((c = fgetc(r->in)) != EOF && c != '\n')
                ;
            r->failures++;
            continue;
        }
        line[strcspn(line, "\r\n")] = '\0';
        p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\0')
            continue;
        if (*p == '!') {
            expect_fail = true;
            p++;
        }
        if (!r->tty)
            printf("> %s\n", line);
        for (char *w = strtok_r(p, " \t", &save); w && argc < REG_ARGS_MAX;
             w = strtok_r(NULL, " \t", &save))
            argv[argc++] = w;
        if (argc == 0)
            continue;
        if (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0)
            break;
        rc = command(r, argc, argv);
        if ((rc != 0) != expect_fail) {
            r->failures++;
            if (expect_fail)
                printf("error: expected a refusal, but it was accepted\n");
        }
        fflush(stdout);
    }
    return r->failures ? 1 : 0;
}

int cmd_register(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"state", required_argument, NULL, 'd'},
        {"script", required_argument, NULL, 'f'}, {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    struct reg r = {0};
    const char *state = NULL, *script = NULL;
    char sock[512];
    int c, rc;
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': r.sock = optarg; break;
        case 'd': state = optarg; break;
        case 'f': script = optarg; break;
        case 'j': r.json = true; break;
        default: fputs(usage_text, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || (r.sock == NULL) == (state == NULL)) {
        if (optind == argc)
            fputs("mamori register: give mamori-terminald's --state DIR (the register's socket is "
                  "DIR/pos.sock) or --socket PATH, one of them\n", stderr);
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (r.sock == NULL) {
        if (snprintf(sock, sizeof(sock), "%s/pos.sock", state) >= (int)sizeof(sock))
            return cmd_fail("register", state, MAMORI_ERR_TOOBIG);
        r.sock = sock;
    }
    if (secmem_init() != 0)
        return cmd_fail("register", "secure memory", MAMORI_ERR_CRYPTO);
    if (script != NULL) {
        if ((r.in = fopen(script, "re")) == NULL)
            return cmd_fail("register", script, MAMORI_ERR_IO);
    } else {
        r.in = stdin;
        r.tty = isatty(fileno(stdin));
    }
    if (r.tty)
        printf("mamori register on %s — type help\n", r.sock);
    rc = run(&r);
    if (r.in != stdin)
        fclose(r.in);
    return rc;
}
