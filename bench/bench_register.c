/*
 * bench_register: replay scripted transactions of 10 lines through the
 * register engine (txn.c, tender.c) with the durable journal (journal.c),
 * the real catalog path (barcode_parse + items master via poswire) and the
 * in-process device simulator (drawer command per sale, intent + result).
 *
 *   bench_register [N [GROUP [PLAIN_N]]]
 *
 * N transactions (default 100000) with group commit of GROUP transactions per
 * journal commit (default 100): acknowledgements wait for the group commit.
 * Baseline: PLAIN_N transactions (default 2000) with every action committed
 * and fsynced on its own (synchronous=FULL, WAL), the default mode.
 * Prints transactions/s of both and their ratio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/items.h"
#include "pos/journal.h"
#include "pos/operator.h"
#include "pos/poswire.h"
#include "pos/tender.h"
#include "pos/txn.h"

#define ITEMS 1000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_register: %s: %s\n", what, mamori_strerror(rc));
    exit(1);
}

static void make_code(int i, char out[14])
{
    char body[13];
    int cd;
    snprintf(body, sizeof(body), "49%010d", i);
    if (barcode_gs1_check_digit(body, 12, &cd))
        die("check digit", MAMORI_ERR_INTERNAL);
    snprintf(out, 14, "%s%d", body, cd);
}

struct station {
    struct journal *j;
    struct posdev_sim *sim;
    struct pos_devices dev;
    struct txn *t;
};

static void station_open(const char *dir, const char *name, struct txn_catalog *cat,
                         struct txn_auth *auth, struct station *s)
{
    char path[512];
    struct txn_config cfg;
    int rc;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.terminal, sizeof(cfg.terminal), "%s", name);
    snprintf(cfg.issuer_name, sizeof(cfg.issuer_name), "ベンチ商店");
    snprintf(cfg.regno, sizeof(cfg.regno), "T1234567890123");
    cfg.discount_limit_yen = 100;
    cfg.discount_limit_pct = 10;
    snprintf(path, sizeof(path), "%s/%s.db", dir, name);
    if ((rc = journal_open(path, &s->j)) || (rc = posdev_sim_new(NULL, false, &s->sim)))
        die("open", rc);
    posdev_sim_port(s->sim, &s->dev);
    s->dev.print = NULL; /* receipt rendering is posdata's benchmark, not this one */
    if ((rc = txn_new(&cfg, s->j, &s->dev, cat, auth, NULL, &s->t)))
        die("txn_new", rc);
    if ((rc = txn_signon(s->t, "bench", "bench-password")))
        die("signon", rc);
}

static void station_close(struct station *s)
{
    txn_free(s->t);
    posdev_sim_free(s->sim);
    journal_close(s->j);
}

/* One sale of 10 lines paid in cash (drawer opened with an idempotency key). */
static void one(struct station *s, char codes[][14], long i)
{
    struct txn_totals tot;
    int rc;
    for (int l = 0; l < 10; l++)
        if ((rc = txn_scan(s->t, codes[(i * 7 + l * 13) % ITEMS], 1 + l % 2)))
            die("scan", rc);
    if ((rc = txn_subtotal(s->t)) || (rc = txn_totals(s->t, &tot)) ||
        (rc = tender_cash(s->t, tot.due + 100)))
        die("tender", rc);
}

static double run(struct station *s, char codes[][14], long n, long group)
{
    double t0 = now();
    int rc;
    for (long i = 0; i < n; i++) {
        if (group > 1 && i % group == 0 && (rc = journal_group_begin(s->j)))
            die("group begin", rc);
        one(s, codes, i);
        if (group > 1 && (i % group == group - 1 || i == n - 1) &&
            (rc = journal_group_commit(s->j)))
            die("group commit", rc);
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long group = argc > 2 ? atol(argv[2]) : 100;
    long plain_n = argc > 3 ? atol(argv[3]) : 2000;
    char dir[] = "/tmp/mamori-bench-register-XXXXXX";
    char path[512], (*codes)[14];
    struct items *items;
    struct audit *audit;
    struct operators *ops;
    struct poswire_catalog pc;
    struct txn_catalog cat;
    struct txn_auth auth;
    struct station plain, grouped;
    double tp, tg;
    int rc;
    if (n < 1 || group < 1 || plain_n < 1 || mkdtemp(dir) == NULL)
        return 2;
    codes = calloc(ITEMS, sizeof(*codes));
    snprintf(path, sizeof(path), "%s/items.db", dir);
    if ((rc = items_open(path, &items)) || (rc = items_begin(items)))
        die("items", rc);
    for (int i = 0; i < ITEMS; i++) {
        struct items_item it;
        memset(&it, 0, sizeof(it));
        make_code(i, codes[i]);
        snprintf(it.code, sizeof(it.code), "%s", codes[i]);
        snprintf(it.name, sizeof(it.name), "商品%04d", i);
        it.unit_price = 100 + i % 900;
        it.tax_class = i % 3 ? TAX_CLASS_REDUCED : TAX_CLASS_STANDARD;
        it.price_includes_tax = i % 5 != 0;
        it.department = (uint32_t)(1 + i % 20);
        if ((rc = items_put(items, &it)))
            die("items_put", rc);
    }
    if ((rc = items_commit(items)))
        die("items commit", rc);
    snprintf(path, sizeof(path), "%s/audit.db", dir);
    if ((rc = audit_open(path, &audit)))
        die("audit", rc);
    snprintf(path, sizeof(path), "%s/operators.db", dir);
    if ((rc = operators_open(path, audit, &ops)) ||
        (rc = operators_add(ops, "bench", "ベンチ", OPERATOR_CASHIER, "bench-password")))
        die("operators", rc);
    memset(&pc, 0, sizeof(pc));
    pc.items = items;
    poswire_catalog(&pc, &cat);
    poswire_auth(ops, &auth);

    station_open(dir, "PLAIN", &cat, &auth, &plain);
    tp = run(&plain, codes, plain_n, 1);
    station_close(&plain);
    station_open(dir, "GROUP", &cat, &auth, &grouped);
    tg = run(&grouped, codes, n, group);
    station_close(&grouped);

    printf("per-action commit (fsync each action): %ld txns in %.2f s = %.0f txn/s\n", plain_n,
           tp, (double)plain_n / tp);
    printf("group commit (%ld txns per commit):     %ld txns in %.2f s = %.0f txn/s\n", group, n,
           tg, (double)n / tg);
    printf("ratio group / per-action: %.1f\n", ((double)n / tg) / ((double)plain_n / tp));

    operators_free(ops);
    audit_close(audit);
    items_free(items);
    free(codes);
    {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_register: could not remove %s\n", dir);
    }
    return 0;
}
