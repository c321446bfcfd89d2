/*
 * mamori items: the item master from the command line (import, show, count).
 * Owns argument parsing and output only; everything else is src/pos/items.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/items.h"

static const char USAGE[] =
    "usage: mamori items import FILE [--db DB]   replace the master with a CSV file\n"
    "       mamori items show CODE [--db DB] [--json]\n"
    "                                         CODE: JAN/EAN/UPC, in-store code or PLU number\n"
    "       mamori items count [--db DB]\n"
    "DB defaults to $MAMORI_ITEMS_DB or ./items.db. CSV columns: docs/items-csv.md.\n"
    "exit: 0 ok, 1 failure (bad rows are listed with their line numbers), 2 usage\n";

static void print_error(void *arg, uint64_t line, const char *msg)
{
    const char *file = arg;
    if (line)
        fprintf(stderr, "%s:%" PRIu64 ": %s\n", file, line, msg);
    else
        fprintf(stderr, "%s: %s\n", file, msg);
}

static void show(const struct items_item *x, const struct barcode *bc, bool json)
{
    const char *tc = x->tax_class == TAX_CLASS_REDUCED ? "reduced" : "standard";
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:b, s:i, s:b, s:b, s:I, s:i}", "code", x->code,
                              "name", x->name, "unit_price", (json_int_t)x->unit_price, "tax_class", tc,
                              "price_includes_tax", x->price_includes_tax, "department",
                              (int)x->department, "age_restricted", x->age_restricted, "weighed",
                              x->weighed, "price_per_100g", (json_int_t)x->price_per_100g, "plu",
                              (int)x->plu);
        if (o && bc) {
            json_object_set_new(o, "scanned_kind", json_string(barcode_kind_name(bc->kind)));
            if (bc->price >= 0)
                json_object_set_new(o, "embedded_price", json_integer(bc->price));
        }
        char *s = o ? json_dumps(o, JSON_SORT_KEYS) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(o);
        return;
    }
    printf("code:               %s\n", x->code);
    printf("name:               %s\n", x->name);
    printf("unit_price:         %" PRId64 "\n", x->unit_price);
    printf("tax_class:          %s (%d%% take-out)\n", tc, tax_rate_pct(x->tax_class, false));
    printf("price_includes_tax: %s\n", x->price_includes_tax ? "yes" : "no");
    printf("department:         %" PRIu32 "\n", x->department);
    printf("age_restricted:     %s\n", x->age_restricted ? "yes" : "no");
    printf("weighed:            %s\n", x->weighed ? "yes" : "no");
    if (x->weighed)
        printf("price_per_100g:     %" PRId64 "\n", x->price_per_100g);
    if (x->plu)
        printf("plu:                %" PRIu32 "\n", x->plu);
    if (bc && bc->price >= 0)
        printf("embedded_price:     %" PRId64 "\n", bc->price);
}

int cmd_items(int argc, char **argv)
{
    const char *db = getenv("MAMORI_ITEMS_DB");
    const char *sub = NULL, *arg = NULL;
    bool json = false;
    struct items *it = NULL;
    int r, rc = 1;

    if (cmd_wants_help(argc, argv, USAGE))
        return 0;
    if (db == NULL || db[0] == '\0')
        db = "items.db";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-')
            goto usage;
        else if (sub == NULL)
            sub = argv[i];
        else if (arg == NULL)
            arg = argv[i];
        else
            goto usage;
    }
    if (sub == NULL)
        goto usage;
    if ((strcmp(sub, "import") == 0 || strcmp(sub, "show") == 0) != (arg != NULL))
        goto usage;
    if (strcmp(sub, "import") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "count") != 0)
        goto usage;
    if ((r = items_open(db, &it)))
        return cmd_fail("items", db, r);

    if (strcmp(sub, "import") == 0) {
        struct items_import_stats st;
        r = items_import_csv(it, arg, print_error, (void *)arg, &st);
        if (r) {
            fprintf(stderr, "mamori items: import of %s failed: %" PRIu64 " bad row(s) of %" PRIu64
                            "; nothing imported\n", arg, st.errors, st.rows);
            rc = cmd_fail("items", "import", r);
            goto out;
        }
        printf("imported %" PRIu64 " items from %s\n", st.imported, arg);
        rc = 0;
    } else if (strcmp(sub, "count") == 0) {
        uint64_t n;
        if ((r = items_count(it, &n))) {
            rc = cmd_fail("items", "count", r);
            goto out;
        }
        printf("%" PRIu64 "\n", n);
        rc = 0;
    } else {
        struct items_item x;
        struct barcode bc;
        size_t n = strlen(arg);
        bool have_bc = false;
        if (n >= 1 && n <= 5 && strspn(arg, "0123456789") == n) {
            r = items_lookup_plu(it, (uint32_t)strtoul(arg, NULL, 10), &x);
        } else if ((r = barcode_parse(NULL, arg, n, &bc)) == 0) {
            have_bc = true;
            r = items_lookup(it, bc.code, &x);
        }
        if (r) {
            rc = cmd_fail("items", arg, r);
            goto out;
        }
        show(&x, have_bc ? &bc : NULL, json);
        rc = 0;
    }
out:
    items_free(it);
    return rc;
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
