/*
 * items: owns the item master database (schema, prepared lookups, the CSV
 * import with its validation and all-or-nothing transaction). It does not
 * own prices at sale time (discounts, overrides: posengine) nor barcode
 * syntax (barcode.c, which it uses to validate and normalise codes).
 */
#include "pos/items.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/csv.h"
#include "pos/jtext.h"

_Static_assert(ITEMS_CSV_LINE_MAX == CSV_RECORD_MAX && ITEMS_CSV_FIELDS_MAX == CSV_FIELDS_MAX,
               "items.h documents the csv.c limits");

struct items {
    sqlite3 *db;
    sqlite3_stmt *q_code;   /* lookup by primary key */
    sqlite3_stmt *q_plu;
    sqlite3_stmt *q_dept;
    sqlite3_stmt *put_item; /* INSERT OR REPLACE (items_put) */
    sqlite3_stmt *ins_item; /* INSERT (import: a duplicate is an error) */
    sqlite3_stmt *put_dept; /* INSERT OR IGNORE */
    sqlite3_stmt *set_dept_name;
};

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS departments("
    " number INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " tax_class INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS items("
    " code TEXT PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL,"
    " unit_price INTEGER NOT NULL,"
    " tax_class INTEGER NOT NULL,"
    " price_includes_tax INTEGER NOT NULL,"
    " department INTEGER NOT NULL,"
    " age_restricted INTEGER NOT NULL,"
    " weighed INTEGER NOT NULL,"
    " price_per_100g INTEGER NOT NULL,"
    " plu INTEGER) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX IF NOT EXISTS items_plu ON items(plu) WHERE plu IS NOT NULL;";

#define ITEM_COLS                                                                                  \
    "code, name, unit_price, tax_class, price_includes_tax, department, age_restricted, weighed, " \
    "price_per_100g, plu"

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **ret)
{
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL) == SQLITE_OK
               ? 0
               : MAMORI_ERR_DB;
}

void items_free(struct items *it)
{
    if (it == NULL)
        return;
    sqlite3_finalize(it->q_code);
    sqlite3_finalize(it->q_plu);
    sqlite3_finalize(it->q_dept);
    sqlite3_finalize(it->put_item);
    sqlite3_finalize(it->ins_item);
    sqlite3_finalize(it->put_dept);
    sqlite3_finalize(it->set_dept_name);
    sqlite3_close(it->db);
    free(it);
}

int items_open(const char *path, struct items **ret)
{
    struct items *it;
    int r = MAMORI_ERR_DB;
    if (path == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((it = calloc(1, sizeof(*it))) == NULL)
        return MAMORI_ERR_NOMEM;
    if (sqlite3_open_v2(path, &it->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(it->db, 5000);
    if (sqlite3_exec(it->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if ((r = prep(it->db, "SELECT " ITEM_COLS " FROM items WHERE code = ?1", &it->q_code)) ||
        (r = prep(it->db, "SELECT " ITEM_COLS " FROM items WHERE plu = ?1", &it->q_plu)) ||
        (r = prep(it->db, "SELECT number, name, tax_class FROM departments WHERE number = ?1",
                  &it->q_dept)) ||
        (r = prep(it->db, "INSERT OR REPLACE INTO items(" ITEM_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                  &it->put_item)) ||
        (r = prep(it->db, "INSERT INTO items(" ITEM_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                  &it->ins_item)) ||
        (r = prep(it->db, "INSERT OR IGNORE INTO departments(number, name, tax_class) VALUES(?1,?2,?3)",
                  &it->put_dept)) ||
        (r = prep(it->db, "UPDATE departments SET name = ?2 WHERE number = ?1", &it->set_dept_name)))
        goto out;
    *ret = it;
    it = NULL;
    r = 0;
out:
    items_free(it);
    return r;
}

static void row_to_item(sqlite3_stmt *s, struct items_item *o)
{
    const unsigned char *code = sqlite3_column_text(s, 0);
    const unsigned char *name = sqlite3_column_text(s, 1);
    memset(o, 0, sizeof(*o));
    snprintf(o->code, sizeof(o->code), "%s", code ? (const char *)code : "");
    snprintf(o->name, sizeof(o->name), "%s", name ? (const char *)name : "");
    o->unit_price = sqlite3_column_int64(s, 2);
    o->tax_class = (enum tax_class)sqlite3_column_int(s, 3);
    o->price_includes_tax = sqlite3_column_int(s, 4) != 0;
    o->department = (uint32_t)sqlite3_column_int64(s, 5);
    o->age_restricted = sqlite3_column_int(s, 6) != 0;
    o->weighed = sqlite3_column_int(s, 7) != 0;
    o->price_per_100g = sqlite3_column_int64(s, 8);
    o->plu = (uint32_t)sqlite3_column_int64(s, 9);
}

static int lookup_step(sqlite3_stmt *s, struct items_item *ret)
{
    int rc = sqlite3_step(s);
    int r;
    if (rc == SQLITE_ROW) {
        row_to_item(s, ret);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return r;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int items_lookup(struct items *it, const char *code, struct items_item *ret)
{
    char key[ITEMS_CODE_MAX + 1];
    size_t n;
    if (it == NULL || code == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    n = strnlen(code, ITEMS_CODE_MAX + 1);
    if (n == 13 && digits(code, 13)) {
        memcpy(key, code, 14);
    } else if (n == 8 && digits(code, 8)) {
        memcpy(key, "00000", 5);
        memcpy(key + 5, code, 9);
    } else if (n == 12 && digits(code, 12)) {
        key[0] = '0';
        memcpy(key + 1, code, 13);
    } else {
        return MAMORI_ERR_INVAL;
    }
    if (sqlite3_bind_text(it->q_code, 1, key, 13, SQLITE_STATIC) != SQLITE_OK)
        return MAMORI_ERR_DB;
    return lookup_step(it->q_code, ret);
}

int items_lookup_plu(struct items *it, uint32_t plu, struct items_item *ret)
{
    if (it == NULL || ret == NULL || plu == 0 || plu > ITEMS_PLU_MAX)
        return MAMORI_ERR_INVAL;
    if (sqlite3_bind_int64(it->q_plu, 1, plu) != SQLITE_OK)
        return MAMORI_ERR_DB;
    return lookup_step(it->q_plu, ret);
}

int items_department(struct items *it, uint32_t number, struct items_department *ret)
{
    int rc, r;
    if (it == NULL || ret == NULL || number == 0 || number > ITEMS_DEPT_MAX)
        return MAMORI_ERR_INVAL;
    if (sqlite3_bind_int64(it->q_dept, 1, number) != SQLITE_OK)
        return MAMORI_ERR_DB;
    rc = sqlite3_step(it->q_dept);
    if (rc == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(it->q_dept, 1);
        memset(ret, 0, sizeof(*ret));
        ret->number = number;
        snprintf(ret->name, sizeof(ret->name), "%s", name ? (const char *)name : "");
        ret->tax_class = (enum tax_class)sqlite3_column_int(it->q_dept, 2);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
    }
    sqlite3_reset(it->q_dept);
    return r;
}

int items_count(struct items *it, uint64_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r = MAMORI_ERR_DB;
    if (it == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (sqlite3_prepare_v2(it->db, "SELECT count(*) FROM items", -1, &s, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_ROW)
        goto out;
    *ret = (uint64_t)sqlite3_column_int64(s, 0);
    r = 0;
out:
    sqlite3_finalize(s);
    return r;
}

int items_begin(struct items *it)
{
    return it && sqlite3_exec(it->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : MAMORI_ERR_DB;
}

int items_commit(struct items *it)
{
    return it && sqlite3_exec(it->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : MAMORI_ERR_DB;
}

static void rollback(struct items *it)
{
    (void)sqlite3_exec(it->db, "ROLLBACK", NULL, NULL, NULL);
}

int items_validate(const struct items_item *item, char *msg, size_t msg_len)
{
    struct barcode b;
    size_t nl;
#define BAD(...)                                    \
    do {                                            \
        if (msg && msg_len)                         \
            snprintf(msg, msg_len, __VA_ARGS__);    \
        return MAMORI_ERR_INVAL;                    \
    } while (0)
    if (item == NULL)
        BAD("no item");
    nl = strnlen(item->code, sizeof(item->code));
    if (nl != 13 || !digits(item->code, 13))
        BAD("code: must be 13 digits (GTIN-13 / in-store code)");
    int r = barcode_parse(NULL, item->code, 13, &b);
    if (r == MAMORI_ERR_CHECKSUM)
        BAD("code %s: wrong check digit", item->code);
    if (r)
        BAD("code %s: not a sellable item code", item->code);
    if (b.kind != BARCODE_JAN13 && b.kind != BARCODE_UPCA && b.kind != BARCODE_EAN8 &&
        b.kind != BARCODE_INSTORE_ITEM && b.kind != BARCODE_INSTORE_PRICE)
        BAD("code %s: not an item code (%s)", item->code, barcode_kind_name(b.kind));
    if (b.kind == BARCODE_INSTORE_PRICE && strcmp(b.code, item->code) != 0)
        BAD("code %s: price digits of a price-embedded code must be zero (key %s)", item->code, b.code);
    nl = strnlen(item->name, sizeof(item->name));
    if (nl == 0 || nl > ITEMS_NAME_MAX)
        BAD("name: 1..%d bytes of UTF-8", ITEMS_NAME_MAX);
    if (!jtext_utf8_valid(item->name, nl))
        BAD("name: not valid UTF-8");
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)item->name[i] < 0x20 || item->name[i] == 0x7F)
            BAD("name: control character");
    /* The name must print: receipts go to the printer in CP932 (receipt.c),
     * so a name it cannot carry (e.g. an emoji) would stop the sale later. */
    {
        struct buf cp;
        buf_init(&cp, 4 * ITEMS_NAME_MAX);
        int cr = jtext_to_cp932(item->name, nl, &cp);
        buf_free(&cp);
        if (cr)
            BAD("name: has a character the receipt printer cannot print (not in CP932)");
    }
    if (item->tax_class != TAX_CLASS_STANDARD && item->tax_class != TAX_CLASS_REDUCED)
        BAD("tax_class: must be standard (10) or reduced (8)");
    if (item->unit_price < 0 || item->unit_price > ITEMS_PRICE_MAX)
        BAD("unit_price: must be 0..%d yen", ITEMS_PRICE_MAX);
    if (item->department == 0 || item->department > ITEMS_DEPT_MAX)
        BAD("department: must be 1..%d", ITEMS_DEPT_MAX);
    if (item->plu > ITEMS_PLU_MAX)
        BAD("plu: must be 1..%d or empty", ITEMS_PLU_MAX);
    if (item->weighed) {
        if (item->price_per_100g <= 0 || item->price_per_100g > ITEMS_PRICE_MAX)
            BAD("price_per_100g: weighed items need 1..%d yen", ITEMS_PRICE_MAX);
    } else {
        if (item->price_per_100g != 0)
            BAD("price_per_100g: only for weighed items");
        if (item->unit_price == 0 && b.kind != BARCODE_INSTORE_PRICE)
            BAD("unit_price: 0 only for weighed or price-embedded items");
    }
    return 0;
#undef BAD
}

static int put_dept(struct items *it, uint32_t number, const char *name, enum tax_class tc)
{
    char def[32];
    int r = 0;
    if (name == NULL || name[0] == '\0') {
        snprintf(def, sizeof(def), "部門%" PRIu32, number);
        name = def;
    }
    if (sqlite3_bind_int64(it->put_dept, 1, number) || sqlite3_bind_text(it->put_dept, 2, name, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_int(it->put_dept, 3, (int)tc) || sqlite3_step(it->put_dept) != SQLITE_DONE)
        r = MAMORI_ERR_DB;
    sqlite3_reset(it->put_dept);
    sqlite3_clear_bindings(it->put_dept);
    return r;
}

static int set_dept_name(struct items *it, uint32_t number, const char *name)
{
    int r = 0;
    if (sqlite3_bind_int64(it->set_dept_name, 1, number) ||
        sqlite3_bind_text(it->set_dept_name, 2, name, -1, SQLITE_TRANSIENT) ||
        sqlite3_step(it->set_dept_name) != SQLITE_DONE)
        r = MAMORI_ERR_DB;
    sqlite3_reset(it->set_dept_name);
    sqlite3_clear_bindings(it->set_dept_name);
    return r;
}

/* Insert one item; *ret_constraint = true when SQLite refused it on a
 * uniqueness constraint (duplicate code or PLU in one import). */
static int put_item(struct items *it, sqlite3_stmt *s, const struct items_item *x,
                    bool *ret_constraint)
{
    int rc, r = 0;
    if (ret_constraint)
        *ret_constraint = false;
    if ((r = put_dept(it, x->department, NULL, x->tax_class)))
        return r;
    if (sqlite3_bind_text(s, 1, x->code, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_text(s, 2, x->name, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_int64(s, 3, x->unit_price) || sqlite3_bind_int(s, 4, (int)x->tax_class) ||
        sqlite3_bind_int(s, 5, x->price_includes_tax) || sqlite3_bind_int64(s, 6, x->department) ||
        sqlite3_bind_int(s, 7, x->age_restricted) || sqlite3_bind_int(s, 8, x->weighed) ||
        sqlite3_bind_int64(s, 9, x->price_per_100g) ||
        (x->plu ? sqlite3_bind_int64(s, 10, x->plu) : sqlite3_bind_null(s, 10))) {
        r = MAMORI_ERR_DB;
    } else if ((rc = sqlite3_step(s)) != SQLITE_DONE) {
        r = (rc & 0xff) == SQLITE_CONSTRAINT ? MAMORI_ERR_EXISTS : MAMORI_ERR_DB;
        if (ret_constraint)
            *ret_constraint = r == MAMORI_ERR_EXISTS;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return r;
}

int items_put(struct items *it, const struct items_item *item)
{
    int r;
    if (it == NULL || item == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = items_validate(item, NULL, 0)))
        return r;
    return put_item(it, it->put_item, item, NULL);
}

int items_weighed_price(int64_t per_100g, uint32_t grams, int64_t *ret)
{
    if (ret == NULL || per_100g <= 0 || per_100g > ITEMS_PRICE_MAX || grams == 0 ||
        grams > ITEMS_WEIGHT_MAX_G)
        return MAMORI_ERR_INVAL;
    *ret = per_100g * (int64_t)grams / 100; /* <= 1e7 * 1e5: no overflow */
    return 0;
}

/* ---- CSV import ---------------------------------------------------------- */

enum col {
    C_CODE, C_NAME, C_PRICE, C_TAX, C_INCL, C_DEPT, C_DEPT_NAME, C_AGE, C_WEIGHED, C_P100, C_PLU,
    C_N
};
static const char *const COLNAMES[C_N] = {
    "code", "name", "unit_price", "tax_class", "price_includes_tax", "department",
    "department_name", "age_restricted", "weighed", "price_per_100g", "plu",
};

struct import {
    struct items *it;
    items_report_cb cb;
    void *arg;
    struct items_import_stats st;
    int col[C_N]; /* field index of each column, -1 = absent */
};

static void report(struct import *im, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct import *im, uint64_t line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    im->st.errors++;
    if (im->st.errors > ITEMS_CSV_ERRORS_MAX || im->cb == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    im->cb(im->arg, line, msg);
}

/* Parse a decimal non-negative integer field (digits only, <= max). */
static int field_uint(const char *f, size_t n, int64_t max, int64_t *ret)
{
    int64_t v = 0;
    if (n == 0 || n > 18 || !digits(f, n))
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (f[i] - '0');
    if (v > max)
        return MAMORI_ERR_INVAL;
    *ret = v;
    return 0;
}

static int field_bool(const char *f, size_t n, bool *ret)
{
    if (n == 1 && (f[0] == '0' || f[0] == '1')) {
        *ret = f[0] == '1';
        return 0;
    }
    return MAMORI_ERR_INVAL;
}

static int header(struct import *im, const struct csv_record *rec)
{
    for (int c = 0; c < C_N; c++)
        im->col[c] = -1;
    for (size_t i = 0; i < rec->n; i++) {
        int found = -1;
        for (int c = 0; c < C_N; c++)
            if (strcmp(rec->f[i], COLNAMES[c]) == 0)
                found = c;
        if (found < 0) {
            report(im, rec->line, "header: unknown column \"%.40s\"", rec->f[i]);
            return MAMORI_ERR_INVAL;
        }
        if (im->col[found] >= 0) {
            report(im, rec->line, "header: column %s twice", COLNAMES[found]);
            return MAMORI_ERR_INVAL;
        }
        im->col[found] = (int)i;
    }
    for (int c = C_CODE; c <= C_TAX; c++)
        if (im->col[c] < 0) {
            report(im, rec->line, "header: required column %s missing", COLNAMES[c]);
            return MAMORI_ERR_INVAL;
        }
    return 0;
}

/* Field text of a column for this record, or NULL when the column is absent. */
static const char *fld(const struct import *im, const struct csv_record *rec, int c, size_t *len)
{
    int i = im->col[c];
    if (i < 0 || (size_t)i >= rec->n)
        return NULL;
    *len = rec->len[i];
    return rec->f[i];
}

static int row(struct import *im, const struct csv_record *rec)
{
    struct items_item x;
    char msg[200];
    const char *f;
    size_t n = 0;
    int64_t v;
    bool bad = false;

    memset(&x, 0, sizeof(x));
    x.price_includes_tax = true;
    x.department = 1;
    size_t want = 0;
    for (int c = 0; c < C_N; c++)
        if (im->col[c] >= 0)
            want++;
    if (rec->n != want) {
        report(im, rec->line, "expected %zu fields, got %zu", want, rec->n);
        return MAMORI_ERR_INVAL;
    }
#define FIELD_ERR(...)                                 \
    do {                                               \
        report(im, rec->line, __VA_ARGS__);            \
        bad = true;                                    \
    } while (0)

    f = fld(im, rec, C_CODE, &n);
    if (n == 8 && digits(f, 8)) {
        memcpy(x.code, "00000", 5);
        memcpy(x.code + 5, f, 8);
        x.code[13] = '\0';
    } else if (n == 13 && digits(f, 13)) {
        memcpy(x.code, f, 14);
    } else if (n == 12 && digits(f, 12)) {
        x.code[0] = '0';
        memcpy(x.code + 1, f, 13);
    } else {
        FIELD_ERR("code: must be 8, 12 or 13 digits");
    }
    f = fld(im, rec, C_NAME, &n);
    if (n == 0 || n > ITEMS_NAME_MAX || memchr(f, '\0', n) != NULL)
        FIELD_ERR("name: 1..%d bytes, no NUL", ITEMS_NAME_MAX);
    else
        memcpy(x.name, f, n + 1);
    f = fld(im, rec, C_PRICE, &n);
    if (field_uint(f, n, ITEMS_PRICE_MAX, &v))
        FIELD_ERR("unit_price: \"%.20s\" is not 0..%d", f, ITEMS_PRICE_MAX);
    else
        x.unit_price = v;
    f = fld(im, rec, C_TAX, &n);
    if (strcmp(f, "standard") == 0 || strcmp(f, "10") == 0)
        x.tax_class = TAX_CLASS_STANDARD;
    else if (strcmp(f, "reduced") == 0 || strcmp(f, "8") == 0)
        x.tax_class = TAX_CLASS_REDUCED;
    else
        FIELD_ERR("tax_class: \"%.20s\" is not standard/10 or reduced/8", f);
    if ((f = fld(im, rec, C_INCL, &n)) && field_bool(f, n, &x.price_includes_tax))
        FIELD_ERR("price_includes_tax: must be 0 or 1");
    if ((f = fld(im, rec, C_DEPT, &n))) {
        if (field_uint(f, n, ITEMS_DEPT_MAX, &v) || v == 0)
            FIELD_ERR("department: must be 1..%d", ITEMS_DEPT_MAX);
        else
            x.department = (uint32_t)v;
    }
    if ((f = fld(im, rec, C_AGE, &n)) && field_bool(f, n, &x.age_restricted))
        FIELD_ERR("age_restricted: must be 0 or 1");
    if ((f = fld(im, rec, C_WEIGHED, &n)) && field_bool(f, n, &x.weighed))
        FIELD_ERR("weighed: must be 0 or 1");
    if ((f = fld(im, rec, C_P100, &n)) && n > 0) {
        if (field_uint(f, n, ITEMS_PRICE_MAX, &v))
            FIELD_ERR("price_per_100g: must be 0..%d", ITEMS_PRICE_MAX);
        else
            x.price_per_100g = v;
    }
    if ((f = fld(im, rec, C_PLU, &n)) && n > 0) {
        if (field_uint(f, n, ITEMS_PLU_MAX, &v) || v == 0)
            FIELD_ERR("plu: must be 1..%d or empty", ITEMS_PLU_MAX);
        else
            x.plu = (uint32_t)v;
    }
    const char *dname = NULL;
    if ((f = fld(im, rec, C_DEPT_NAME, &n)) && n > 0) {
        if (n > ITEMS_DEPT_NAME_MAX || !jtext_utf8_valid(f, n) || memchr(f, '\0', n))
            FIELD_ERR("department_name: 1..%d bytes of UTF-8", ITEMS_DEPT_NAME_MAX);
        else
            dname = f;
    }
    if (bad)
        return MAMORI_ERR_INVAL;
    if (items_validate(&x, msg, sizeof(msg))) {
        report(im, rec->line, "%s", msg);
        return MAMORI_ERR_INVAL;
    }
    /* Rows after an error are still written so that duplicates are found;
     * the transaction is rolled back at the end. */
    bool dup = false;
    int r = put_item(im->it, im->it->ins_item, &x, &dup);
    if (r == 0 && dname != NULL)
        r = set_dept_name(im->it, x.department, dname);
    if (dup) {
        report(im, rec->line, "code %s (or its plu) appears twice in the file", x.code);
        return MAMORI_ERR_INVAL;
    }
    if (r) {
        report(im, rec->line, "database error: %s", sqlite3_errmsg(im->it->db));
        return r;
    }
    im->st.imported++;
    return 0;
#undef FIELD_ERR
}

int items_import_mem(struct items *it, const void *data, size_t n, items_report_cb cb, void *arg,
                     struct items_import_stats *ret_stats)
{
    struct import im;
    struct buf b;
    struct csv_reader rd;
    struct csv_record *rec = NULL;
    uint64_t eline = 0;
    int r, rc;
    bool have_header = false, in_txn = false;

    memset(&im, 0, sizeof(im));
    im.it = it;
    im.cb = cb;
    im.arg = arg;
    if (it == NULL || (data == NULL && n > 0)) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if (n > ITEMS_CSV_MAX_BYTES) {
        report(&im, 0, "file larger than %u bytes", ITEMS_CSV_MAX_BYTES);
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((rec = malloc(sizeof(*rec))) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    buf_view(&b, data, n);
    csv_reader_init(&rd, &b);
    /* One transaction: the old master is replaced only if every row is good. */
    if ((r = items_begin(it)))
        goto out;
    in_txn = true;
    if (sqlite3_exec(it->db, "DELETE FROM items", NULL, NULL, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    while ((rc = csv_next(&rd, rec, &eline)) != 0) {
        if (im.st.errors > ITEMS_CSV_ERRORS_MAX)
            break;
        if (rc < 0) {
            report(&im, eline, rc == MAMORI_ERR_TOOBIG
                                   ? "record too long (max %d bytes, %d fields)"
                                   : "malformed CSV (quotes)",
                   CSV_RECORD_MAX, CSV_FIELDS_MAX);
            if (!have_header)
                break;
            if (rc == MAMORI_ERR_PROTO && buf_remaining(&b) == 0)
                break;
            continue;
        }
        if (!have_header) {
            if (header(&im, rec))
                break;
            have_header = true;
            continue;
        }
        im.st.rows++;
        (void)row(&im, rec); /* errors are counted and reported in im */
    }
    if (!have_header && im.st.errors == 0)
        report(&im, 0, "empty file: a header row is required");
    if (im.st.errors > ITEMS_CSV_ERRORS_MAX && cb)
        cb(arg, 0, "too many errors; stopped");
    if (im.st.errors > 0) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = items_commit(it)))
        goto out;
    in_txn = false;
    r = 0;
out:
    if (in_txn) {
        rollback(it);
        im.st.imported = 0;
    }
    free(rec);
    if (ret_stats)
        *ret_stats = im.st;
    return r;
}

int items_import_csv(struct items *it, const char *path, items_report_cb cb, void *arg,
                     struct items_import_stats *ret_stats)
{
    struct stat st;
    uint8_t *data = NULL;
    size_t got = 0;
    int fd = -1, r;

    if (ret_stats)
        memset(ret_stats, 0, sizeof(*ret_stats));
    if (it == NULL || path == NULL)
        return MAMORI_ERR_INVAL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (cb)
            cb(arg, 0, "cannot open the file");
        return MAMORI_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if ((uint64_t)st.st_size > ITEMS_CSV_MAX_BYTES) {
        if (cb)
            cb(arg, 0, "file too large");
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, data + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got != (size_t)st.st_size) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    r = items_import_mem(it, data, got, cb, arg, ret_stats);
out:
    free(data);
    if (fd >= 0)
        close(fd);
    return r;
}
