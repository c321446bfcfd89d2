/*
 * bench_items: item lookup by code with 1,000,000 items (issue 3: p99 <= 20 us).
 *
 * Measures items_lookup() (prepared statement on the WITHOUT ROWID primary
 * key, kept across calls) against two baselines on the same database file:
 *   - raw sqlite3 re-preparing the same SELECT for every lookup;
 *   - an in-memory open-addressing hash table of the codes (lower bound).
 * Usage: bench_items [N_ITEMS] [N_LOOKUPS] [DIR]   (defaults 1000000 200000 $TMPDIR)
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/items.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void code_of(uint64_t i, char out[14])
{
    int cd;
    snprintf(out, 14, "45%010" PRIu64, (uint64_t)(i * 7 % 10000000000ull));
    (void)barcode_gs1_check_digit(out, 12, &cd);
    out[12] = (char)('0' + cd);
    out[13] = '\0';
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void report(const char *name, uint64_t *t, size_t n)
{
    qsort(t, n, sizeof(*t), cmp_u64);
    printf("%-40s p50 %7.2f us  p99 %7.2f us  p99.9 %7.2f us  max %8.2f us\n", name,
           t[n / 2] / 1000.0, t[n * 99 / 100] / 1000.0, t[n * 999 / 1000] / 1000.0, t[n - 1] / 1000.0);
}

/* A minimal open-addressing set of codes as integers: the in-memory baseline. */
struct hentry {
    uint64_t key;
    int64_t price;
};

int main(int argc, char **argv)
{
    uint64_t n_items = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t n_look = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
    const char *dir = argc > 3 ? argv[3] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    char path[512], code[14];
    struct items *it = NULL;
    struct items_item x;
    uint64_t *t = calloc(n_look, sizeof(uint64_t));
    uint64_t *keys = calloc(n_look, sizeof(uint64_t));
    if (t == NULL || keys == NULL || n_items == 0 || n_look == 0)
        return 1;
    snprintf(path, sizeof(path), "%s/bench_items_%d.db", dir, (int)getpid());

    if (items_open(path, &it) != 0)
        return 1;
    uint64_t t0 = now_ns();
    if (items_begin(it) != 0)
        return 1;
    memset(&x, 0, sizeof(x));
    x.tax_class = TAX_CLASS_REDUCED;
    x.price_includes_tax = true;
    x.department = 1;
    for (uint64_t i = 0; i < n_items; i++) {
        code_of(i, x.code);
        snprintf(x.name, sizeof(x.name), "商品 %" PRIu64, i);
        x.unit_price = (int64_t)(100 + i % 900);
        if (items_put(it, &x) != 0) {
            fprintf(stderr, "put failed at %" PRIu64 "\n", i);
            return 1;
        }
    }
    if (items_commit(it) != 0)
        return 1;
    printf("items: %" PRIu64 " items loaded in %.1f s into %s\n", n_items, (now_ns() - t0) / 1e9, path);

    for (size_t i = 0; i < n_look; i++)
        keys[i] = xorshift() % n_items;

    /* Warm the page cache with one pass, as a running register would be. */
    for (size_t i = 0; i < n_look; i++) {
        code_of(keys[i], code);
        (void)items_lookup(it, code, &x);
    }

    /* 1. items_lookup: prepared statement reused. */
    for (size_t i = 0; i < n_look; i++) {
        code_of(keys[i], code);
        uint64_t a = now_ns();
        int r = items_lookup(it, code, &x);
        t[i] = now_ns() - a;
        if (r != 0) {
            fprintf(stderr, "lookup failed: %s\n", mamori_strerror(r));
            return 1;
        }
    }
    report("items_lookup (prepared, reused)", t, n_look);
    double p99_items = t[n_look * 99 / 100] / 1000.0;
    double p50_items = t[n_look / 2] / 1000.0;

    /* 2. baseline: raw sqlite3, statement prepared per lookup. */
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 1;
    for (size_t i = 0; i < n_look; i++) {
        sqlite3_stmt *s = NULL;
        code_of(keys[i], code);
        uint64_t a = now_ns();
        sqlite3_prepare_v2(db, "SELECT code, name, unit_price, tax_class, price_includes_tax, department, "
                               "age_restricted, weighed, price_per_100g, plu FROM items WHERE code = ?1",
                           -1, &s, NULL);
        sqlite3_bind_text(s, 1, code, 13, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        volatile int64_t p = sqlite3_column_int64(s, 2);
        (void)p;
        sqlite3_finalize(s);
        t[i] = now_ns() - a;
        if (rc != SQLITE_ROW)
            return 1;
    }
    sqlite3_close(db);
    report("baseline: sqlite3, prepare per lookup", t, n_look);
    double p99_raw = t[n_look * 99 / 100] / 1000.0;
    double p50_raw = t[n_look / 2] / 1000.0;

    /* 3. baseline: in-memory hash table (no persistence, no item record). */
    size_t cap = 1;
    while (cap < n_items * 2)
        cap <<= 1;
    struct hentry *h = calloc(cap, sizeof(*h));
    if (h == NULL)
        return 1;
    for (uint64_t i = 0; i < n_items; i++) {
        code_of(i, code);
        uint64_t k = strtoull(code, NULL, 10) + 1;
        size_t j = (size_t)((k * 0x9E3779B97F4A7C15ull) & (cap - 1));
        while (h[j].key)
            j = (j + 1) & (cap - 1);
        h[j].key = k;
        h[j].price = (int64_t)i;
    }
    for (size_t i = 0; i < n_look; i++) {
        code_of(keys[i], code);
        uint64_t a = now_ns();
        uint64_t k = strtoull(code, NULL, 10) + 1;
        size_t j = (size_t)((k * 0x9E3779B97F4A7C15ull) & (cap - 1));
        while (h[j].key && h[j].key != k)
            j = (j + 1) & (cap - 1);
        volatile int64_t p = h[j].price;
        (void)p;
        t[i] = now_ns() - a;
    }
    report("baseline: in-memory hash table", t, n_look);
    double p99_hash = t[n_look * 99 / 100] / 1000.0;

    printf("ratio p99: prepare-per-lookup / items_lookup = %.2fx (p50 %.2fx); "
           "items_lookup / hash = %.1fx\n",
           p99_raw / p99_items, p50_raw / p50_items, p99_items / (p99_hash > 0 ? p99_hash : 0.001));
    printf("target p99 <= 20 us: %s\n", p99_items <= 20.0 ? "MET" : "NOT MET");

    free(h);
    items_free(it);
    unlink(path);
    char side[600];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    free(t);
    free(keys);
    return p99_items <= 20.0 ? 0 : 1;
}
