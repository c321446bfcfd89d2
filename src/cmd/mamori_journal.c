/*
 * mamori journal: the electronic journal from the command line (OPS-6):
 * show one receipt, search receipts. Owns argument parsing and output only;
 * storage is src/pos/journal.c. Member numbers are never shown: the journal
 * holds only their ciphertext and mask.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <libgen.h>
#include <unistd.h>

#include "common/secmem.h"

#include <jansson.h>

#include "cmd/cmd.h"
#include "mamori/err.h"
#include "pos/journal.h"
#include "pos/txn.h"

static const char USAGE[] =
    "usage: mamori journal show RECEIPT_NO [--db DB] [--json] [--key FILE]\n"
    "       mamori journal search [--db DB] [--terminal T] [--operator ID] [--kind sale|return]\n"
    "                             [--from UNIX] [--to UNIX] [--min YEN] [--max YEN]\n"
    "                             [--code JAN] [--limit N] [--json] [--key FILE]\n"
    "DB defaults to $MAMORI_JOURNAL_DB or ./journal.db. Records are sealed (POL-1): --key FILE\n"
    "names the register's data key (default: datakey next to DB, 32 bytes, mode 0600).\n"
    "exit: 0 ok (search: also when nothing matched), 1 failure or no such receipt, 2 usage\n";

static int parse_i64(const char *s, int64_t *ret)
{
    char *end = NULL;
    long long v;
    if (s == NULL || *s == '\0')
        return MAMORI_ERR_INVAL;
    v = strtoll(s, &end, 10);
    if (*end != '\0')
        return MAMORI_ERR_INVAL;
    *ret = (int64_t)v;
    return 0;
}

static const char *tender_label(const struct txn_tender *d)
{
    switch (d->type) {
    case TENDER_CASH: return "現金";
    case TENDER_GIFT: return "商品券";
    case TENDER_COUPON: return "クーポン";
    case TENDER_POINTS: return "ポイント";
    default: return d->kind;
    }
}

static int show(struct journal *j, int64_t no, bool json)
{
    struct txn_rec *r;
    struct txn_totals t;
    int rc;
    if (json) {
        char *text = NULL;
        if ((rc = journal_receipt_json(j, no, &text)))
            return cmd_fail("journal", "show", rc);
        printf("{\"receipt_no\":%" PRId64 ",\"record\":%s}\n", no, text);
        free(text);
        return 0;
    }
    if ((r = malloc(sizeof(*r))) == NULL)
        return cmd_fail("journal", "show", MAMORI_ERR_NOMEM);
    rc = journal_receipt_get(j, no, r);
    if (rc == 0)
        rc = txn_rec_totals(r, TAX_ROUND_DOWN, 0, &t);
    if (rc) {
        free(r);
        return cmd_fail("journal", "show", rc);
    }
    printf("receipt %" PRId64 "  txn %" PRId64 "  terminal %s  operator %s%s%s\n", no, r->txn_no,
           r->terminal, r->operator_id, r->is_return ? "  RETURN" : "",
           r->training ? "  TRAINING" : "");
    if (r->is_return)
        printf("original receipt %" PRId64 "\n", r->orig_receipt);
    for (size_t i = 0; i < r->n_lines; i++) {
        const struct txn_line *l = &r->lines[i];
        printf("%3d %s%-24s %5d x %8" PRId64 " = %9" PRId64 "%s%s\n", l->no,
               l->reduced && !r->eat_in ? "※" : "  ", l->name, l->qty, l->unit_price,
               txn_line_net(l), l->voided ? "  (void)" : "", l->overridden ? "  (override)" : "");
    }
    printf("10%%対象 %9" PRId64 "  (tax %" PRId64 ")\n", t.tax.g[TAX_G10].taxable,
           t.tax.g[TAX_G10].tax);
    printf("8%%対象  %9" PRId64 "  (tax %" PRId64 ")\n", t.tax.g[TAX_G8].taxable,
           t.tax.g[TAX_G8].tax);
    printf("合計    %9" PRId64 "\n", t.total);
    for (size_t i = 0; i < r->n_tenders; i++)
        printf("  %-10s %9" PRId64 "  (%s)\n", tender_label(&r->tenders[i]),
               r->tenders[i].received ? r->tenders[i].received : r->tenders[i].amount,
               r->tenders[i].cashier);
    if (!r->is_return)
        printf("お釣    %9" PRId64 "\n", t.paid - t.total);
    if (r->has_member)
        printf("member  %s\n", r->member_masked);
    for (size_t i = 0; i < r->n_approvals; i++)
        printf("approval %s by %s (line %d)\n", r->approvals[i].what, r->approvals[i].manager,
               r->approvals[i].line);
    free(r);
    return 0;
}

struct search_out {
    bool json;
    json_t *arr;
    long n;
};

static int print_row(void *ctx, const struct journal_row *row)
{
    struct search_out *o = ctx;
    o->n++;
    if (o->json) {
        json_t *x = json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:I,s:I,s:b,s:I}", "receipt_no",
                              (json_int_t)row->receipt_no, "txn_no", (json_int_t)row->txn_no,
                              "time", (json_int_t)row->time, "terminal", row->terminal,
                              "operator", row->operator_id, "kind", row->kind, "total",
                              (json_int_t)row->total, "change", (json_int_t)row->change,
                              "training", row->training, "z_no", (json_int_t)row->z_no);
        return json_array_append_new(o->arr, x) == 0 ? 0 : MAMORI_ERR_NOMEM;
    }
    {
        char when[32];
        time_t tt = (time_t)row->time;
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&tt, &tm));
        printf("%8" PRId64 "  %s  %-6s %-8s %-6s %10" PRId64 "%s\n", row->receipt_no, when,
               row->terminal, row->operator_id, row->kind, row->total,
               row->training ? "  training" : "");
    }
    return 0;
}

/* Load the data key (32 bytes) into guarded memory and give it to j. */
static int load_key(struct journal *j, const char *db, const char *keyfile)
{
    char path[1024], copy[1024];
    uint8_t *key;
    ssize_t n;
    int fd, rc;
    if (keyfile == NULL) {
        snprintf(copy, sizeof(copy), "%s", db);
        snprintf(path, sizeof(path), "%s/datakey", dirname(copy));
        keyfile = path;
    }
    if (secmem_init() || (key = secmem_new(JOURNAL_KEY_BYTES)) == NULL)
        return MAMORI_ERR_NOMEM;
    fd = open(keyfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    n = fd >= 0 ? read(fd, key, JOURNAL_KEY_BYTES) : -1;
    if (fd >= 0)
        close(fd);
    rc = n == JOURNAL_KEY_BYTES ? journal_set_key(j, key) : MAMORI_ERR_IO;
    secmem_free(key);
    return rc;
}

int cmd_journal(int argc, char **argv)
{
    const char *keyfile = getenv("MAMORI_DATAKEY");
    const char *db = getenv("MAMORI_JOURNAL_DB");
    struct journal_query q;
    struct journal *j = NULL;
    struct search_out out = {0};
    const char *sub, *arg = NULL;
    int64_t v;
    int rc = 1, r;

    if (cmd_wants_help(argc, argv, USAGE))
        return 0;
    if (argc < 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    sub = argv[1];
    memset(&q, 0, sizeof(q));
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--json") == 0) {
            out.json = true;
            continue;
        }
        if (o[0] != '-' || o[1] != '-') {
            if (arg != NULL)
                goto usage;
            arg = o;
            continue;
        }
        if (val == NULL)
            goto usage;
        i++;
        if (strcmp(o, "--db") == 0)
            db = val;
        else if (strcmp(o, "--key") == 0)
            keyfile = val;
        else if (strcmp(o, "--terminal") == 0)
            q.terminal = val;
        else if (strcmp(o, "--operator") == 0)
            q.operator_id = val;
        else if (strcmp(o, "--kind") == 0 && (!strcmp(val, "sale") || !strcmp(val, "return")))
            q.kind = val;
        else if (strcmp(o, "--code") == 0)
            q.code = val;
        else if (parse_i64(val, &v) != 0)
            goto usage;
        else if (strcmp(o, "--from") == 0)
            q.from_time = v;
        else if (strcmp(o, "--to") == 0)
            q.to_time = v;
        else if (strcmp(o, "--min") == 0)
            q.has_min = true, q.min_total = v;
        else if (strcmp(o, "--max") == 0)
            q.has_max = true, q.max_total = v;
        else if (strcmp(o, "--limit") == 0 && v > 0)
            q.limit = (size_t)v;
        else
            goto usage;
    }
    if (db == NULL)
        db = "journal.db";
    if (strcmp(sub, "show") == 0) {
        if (arg == NULL || parse_i64(arg, &v) || v < 1)
            goto usage;
        if ((r = journal_open(db, &j)))
            return cmd_fail("journal", db, r);
        if ((r = load_key(j, db, keyfile))) {
            journal_close(j);
            return cmd_fail("journal", "data key", r);
        }
        rc = show(j, v, out.json);
    } else if (strcmp(sub, "search") == 0) {
        if (arg != NULL)
            goto usage;
        if ((r = journal_open(db, &j)))
            return cmd_fail("journal", db, r);
        if (q.code != NULL && (r = load_key(j, db, keyfile))) {
            journal_close(j);
            return cmd_fail("journal", "data key", r);
        }
        out.arr = json_array();
        r = journal_search(j, &q, print_row, &out);
        if (r) {
            rc = cmd_fail("journal", "search", r);
        } else {
            if (out.json) {
                char *s = json_dumps(out.arr, JSON_COMPACT);
                if (s)
                    puts(s);
                free(s);
            } else {
                fprintf(stderr, "%ld receipt(s)\n", out.n);
            }
            rc = 0;
        }
        json_decref(out.arr);
    } else {
        goto usage;
    }
    journal_close(j);
    return rc;
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
