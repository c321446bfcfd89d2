/*
 * items: the item master (商品マスタ) in SQLite, its CSV import and lookups.
 *
 * Tables (schema in items.c): items (code TEXT PRIMARY KEY = GTIN-13 or an
 * in-store code, name UTF-8, unit_price, tax_class, price_includes_tax,
 * department, age_restricted, weighed, price_per_100g, plu), departments
 * (部門: number, name, tax class), and a unique index on items.plu for PLU keys.
 *
 * Lookups use prepared statements kept in struct items (on the primary key),
 * so one lookup is a B-tree probe (bench/bench_items.c).
 *
 * CSV import (docs/items-csv.md): header row required, RFC 4180 quoting,
 * every row validated (JAN check digit, price range, tax class, UTF-8, flags),
 * errors reported with line numbers through a callback; the whole file is one
 * SQLite transaction: any bad row rolls back everything.
 *
 * The struct items handle is not thread-safe; one per thread.
 */
#ifndef MAMORI_POS_ITEMS_H
#define MAMORI_POS_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pos/tax.h"

#define ITEMS_CODE_MAX 13          /* GTIN-13 */
#define ITEMS_NAME_MAX 120         /* bytes of UTF-8 in a name */
#define ITEMS_DEPT_NAME_MAX 60
#define ITEMS_PRICE_MAX 9999999    /* ¥9,999,999 per unit */
#define ITEMS_DEPT_MAX 9999        /* department numbers 1..9999 */
#define ITEMS_PLU_MAX 99999        /* PLU numbers 1..99999 */
#define ITEMS_CSV_MAX_BYTES (256u << 20) /* 256 MiB per import file */
#define ITEMS_CSV_LINE_MAX 4096    /* bytes in one record */
#define ITEMS_CSV_FIELDS_MAX 16    /* fields in one record */
#define ITEMS_CSV_ERRORS_MAX 100   /* errors reported before giving up */
#define ITEMS_WEIGHT_MAX_G 100000  /* 100 kg on one weighed line */

struct items;

struct items_item {
    char code[ITEMS_CODE_MAX + 1];
    char name[ITEMS_NAME_MAX + 1];
    int64_t unit_price;      /* yen; 0 for weighed items */
    enum tax_class tax_class;
    bool price_includes_tax; /* 内税 */
    uint32_t department;
    bool age_restricted;
    bool weighed;
    int64_t price_per_100g;  /* weighed items: yen per 100 g */
    uint32_t plu;            /* 0 = none */
};

struct items_department {
    uint32_t number;
    char name[ITEMS_DEPT_NAME_MAX + 1];
    enum tax_class tax_class;
};

struct items_import_stats {
    uint64_t rows;      /* data rows read */
    uint64_t imported;  /* rows written (0 when any row was bad) */
    uint64_t errors;    /* bad rows */
};

/* Called once per error: line = 1-based physical line where the record
 * starts (0 for file-level errors), msg = English text naming the field. */
typedef void (*items_report_cb)(void *arg, uint64_t line, const char *msg);

/* Open (and create the schema of) the item master at path (":memory:" ok).
 * WAL journal. 0 and *ret, or MAMORI_ERR_DB / MAMORI_ERR_NOMEM. */
int items_open(const char *path, struct items **ret);
/* Close; NULL-safe. */
void items_free(struct items *it);

/* Look an item up by its code (GTIN-13 / in-store code, 13 digits; an 8-digit
 * EAN-8 or a 12-digit UPC-A is also accepted and padded with zeros). 0 and *ret, MAMORI_ERR_NOTFOUND,
 * MAMORI_ERR_INVAL for a malformed code, MAMORI_ERR_DB. */
int items_lookup(struct items *it, const char *code, struct items_item *ret);
/* Look an item up by its PLU number. */
int items_lookup_plu(struct items *it, uint32_t plu, struct items_item *ret);
/* A department by number. */
int items_department(struct items *it, uint32_t number, struct items_department *ret);
/* Number of items. */
int items_count(struct items *it, uint64_t *ret);

/* Insert or replace one validated item (tests, benchmarks); creates its
 * department if missing. Batching: wrap in items_begin/items_commit. */
int items_put(struct items *it, const struct items_item *item);
int items_begin(struct items *it);
int items_commit(struct items *it);
/* Validate one item (code, name UTF-8, price range, flags); msg gets a reason. */
int items_validate(const struct items_item *item, char *msg, size_t msg_len);

/* Import a CSV file (see docs/items-csv.md). Returns 0 when every row was good
 * and the import committed; MAMORI_ERR_INVAL when any row was bad (all errors
 * up to ITEMS_CSV_ERRORS_MAX reported via cb, nothing written);
 * MAMORI_ERR_IO / MAMORI_ERR_TOOBIG / MAMORI_ERR_DB otherwise.
 * ret_stats (may be NULL) is filled in every case. */
int items_import_csv(struct items *it, const char *path, items_report_cb cb, void *arg,
                     struct items_import_stats *ret_stats);
/* The same on bytes in memory (fuzz target, tests). */
int items_import_mem(struct items *it, const void *data, size_t n, items_report_cb cb, void *arg,
                     struct items_import_stats *ret_stats);

/* Price of a weighed line: floor(per_100g * grams / 100) (customer-favourable
 * rounding, docs/items-csv.md). MAMORI_ERR_INVAL for grams 0 or > ITEMS_WEIGHT_MAX_G. */
int items_weighed_price(int64_t per_100g, uint32_t grams, int64_t *ret);

#endif
