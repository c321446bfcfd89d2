/*
 * Unit tests for src/pos/items.c and src/pos/csv.c (OPS-1 item master,
 * DEV-16 input validation): import, validation, all-or-nothing, lookups,
 * hostile CSV.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/csv.h"
#include "pos/items.h"

struct errs {
    int n;
    uint64_t lines[200];
    char last[256];
};

static void collect(void *arg, uint64_t line, const char *msg)
{
    struct errs *e = arg;
    if (e->n < 200)
        e->lines[e->n] = line;
    e->n++;
    snprintf(e->last, sizeof(e->last), "%s", msg);
}

static struct items *open_mem(void)
{
    struct items *it = NULL;
    assert_int_equal(items_open(":memory:", &it), 0);
    return it;
}

static int import(struct items *it, const char *csv, struct errs *e, struct items_import_stats *st)
{
    memset(e, 0, sizeof(*e));
    return items_import_mem(it, csv, strlen(csv), collect, e, st);
}

static const char GOOD[] =
    "code,name,unit_price,tax_class,price_includes_tax,department,department_name,age_restricted,"
    "weighed,price_per_100g,plu\r\n"
    "4901234567894,\"明治おいしい牛乳 1000ml\",278,reduced,1,2,乳製品,0,0,,\r\n"
    "4514603386516,\"缶ビール 350ml\",218,standard,1,8,酒類,1,0,,\r\n"
    "0200105000008,\"国産豚ロース(100g)\",0,reduced,0,4,精肉,0,1,258,\r\n"
    "2000000000039,\"キャベツ 1玉\",198,8,1,6,,0,0,,3\r\n"
    "95012346,\"短縮 \"\"EAN-8\"\"\",100,10,0,9,,0,0,,\n";

static void test_ops1_import_and_lookup(void **state)
{
    struct items *it = open_mem();
    struct errs e;
    struct items_import_stats st;
    struct items_item x;
    uint64_t n = 0;
    assert_int_equal(import(it, GOOD, &e, &st), 0);
    assert_int_equal(e.n, 0);
    assert_int_equal(st.rows, 5);
    assert_int_equal(st.imported, 5);
    assert_int_equal(items_count(it, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(items_lookup(it, "4901234567894", &x), 0);
    assert_string_equal(x.name, "明治おいしい牛乳 1000ml");
    assert_int_equal(x.unit_price, 278);
    assert_int_equal(x.tax_class, TAX_CLASS_REDUCED);
    assert_true(x.price_includes_tax);
    assert_int_equal(items_lookup(it, "4514603386516", &x), 0);
    assert_true(x.age_restricted);
    assert_int_equal(x.tax_class, TAX_CLASS_STANDARD);
    assert_int_equal(items_lookup(it, "0200105000008", &x), 0);
    assert_true(x.weighed);
    assert_int_equal(x.price_per_100g, 258);
    assert_false(x.price_includes_tax);
    assert_int_equal(items_lookup_plu(it, 3, &x), 0);
    assert_string_equal(x.code, "2000000000039");
    assert_int_equal(items_lookup(it, "95012346", &x), 0); /* EAN-8 padded */
    assert_string_equal(x.name, "短縮 \"EAN-8\"");
    assert_int_equal(items_lookup(it, "4901234567887", &x), MAMORI_ERR_NOTFOUND);
    assert_int_equal(items_lookup(it, "000095012346", &x), 0); /* 12 digits, padded to 13 */
    assert_int_equal(items_lookup(it, "49012345678' OR 1=1 --", &x), MAMORI_ERR_INVAL);
    assert_int_equal(items_lookup_plu(it, 4, &x), MAMORI_ERR_NOTFOUND);
    struct items_department d;
    assert_int_equal(items_department(it, 2, &d), 0);
    assert_string_equal(d.name, "乳製品");
    assert_int_equal(items_department(it, 9, &d), 0);
    assert_string_equal(d.name, "部門9");
    items_free(it);
}

/* Nothing is half-imported: one bad row anywhere and the old master stays. */
static void test_ops1_bad_rows_reported_nothing_imported(void **state)
{
    struct items *it = open_mem();
    struct errs e;
    struct items_import_stats st;
    struct items_item x;
    uint64_t n = 0;
    assert_int_equal(import(it, GOOD, &e, &st), 0);
    const char *bad =
        "code,name,unit_price,tax_class\n"
        "4902102072625,ok row,100,reduced\n"     /* line 2: good */
        "4901234567895,bad cd,100,reduced\n"     /* line 3: check digit */
        "4901234567894,neg,-5,reduced\n"         /* line 4: price */
        "4901234567894,rate,100,5\n"             /* line 5: tax class */
        "4901234567894,\"\xff\xfe\",100,8\n"     /* line 6: UTF-8 */
        "4901234567894,huge,99999999,8\n"        /* line 7: price range */
        "4902102072625,dup,100,8\n"              /* line 8: duplicate of line 2 */
        "4901234567894,short\n"                  /* line 9: field count */
        "0212345703984,price digits set,0,8\n";  /* line 10: price-embedded code with a price */
    assert_int_equal(import(it, bad, &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(e.n, 8);
    const uint64_t want[] = {3, 4, 5, 6, 7, 8, 9, 10};
    for (int i = 0; i < 8; i++)
        assert_int_equal(e.lines[i], want[i]);
    assert_int_equal(st.imported, 0);
    /* The previous master is intact; the good row of the bad file is not there. */
    assert_int_equal(items_count(it, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(items_lookup(it, "4902102072625", &x), MAMORI_ERR_NOTFOUND);
    assert_int_equal(items_lookup(it, "4901234567894", &x), 0);
    items_free(it);
}

static void test_dev16_hostile_csv(void **state)
{
    struct items *it = open_mem();
    struct errs e;
    struct items_import_stats st;
    /* no header / unknown column / missing required column / empty */
    assert_int_equal(import(it, "", &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(e.n, 1);
    assert_int_equal(import(it, "code,name,unit_price,tax_class,evil\n", &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(import(it, "code,name,unit_price\n4901234567894,x,1\n", &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(import(it, "code,code,name,unit_price,tax_class\n", &e, &st), MAMORI_ERR_INVAL);
    /* unterminated quote, stray quote, text after a quote */
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,\"abc,1,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,a\"b,1,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    assert_int_equal(e.lines[0], 2);
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,\"a\"b,1,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    /* a record longer than the limit, too many fields, NUL and control bytes in a name */
    char *big = malloc(CSV_RECORD_MAX + 200);
    assert_non_null(big);
    strcpy(big, "code,name,unit_price,tax_class\n4901234567894,");
    size_t l = strlen(big);
    memset(big + l, 'A', CSV_RECORD_MAX + 10);
    strcpy(big + l + CSV_RECORD_MAX + 10, ",1,8\n");
    assert_int_equal(import(it, big, &e, &st), MAMORI_ERR_INVAL);
    free(big);
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n",
                            &e, &st), MAMORI_ERR_INVAL);
    static const char nul[] = "code,name,unit_price,tax_class\n4901234567894,a\0b,1,8\n";
    memset(&e, 0, sizeof(e));
    assert_int_equal(items_import_mem(it, nul, sizeof(nul) - 1, collect, &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,a\tb,1,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    /* Valid UTF-8 that the printer cannot print (emoji) */
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,ビール\xF0\x9F\x8D\xBA,1,8\n",
                            &e, &st), MAMORI_ERR_INVAL);
    assert_non_null(strstr(e.last, "CP932"));
    /* Overlong UTF-8 ("/" as C0 AF) */
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,\xC0\xAF,1,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    /* weighed without price per 100 g; per-100g on a non-weighed item; 0 price on a plain JAN */
    assert_int_equal(import(it, "code,name,unit_price,tax_class,weighed\n4901234567894,a,0,8,1\n", &e, &st),
                     MAMORI_ERR_INVAL);
    assert_int_equal(import(it, "code,name,unit_price,tax_class,price_per_100g\n4901234567894,a,1,8,5\n",
                            &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n4901234567894,a,0,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    /* Coupon / receipt codes are not items */
    assert_int_equal(import(it, "code,name,unit_price,tax_class\n291001701001261231x,a,1,8\n", &e, &st),
                     MAMORI_ERR_INVAL);
    /* Many bad rows: errors capped */
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_put_bytes(&b, "code,name,unit_price,tax_class\n", 31), 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(buf_put_bytes(&b, "4901234567895,x,1,8\n", 20), 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(items_import_mem(it, buf_ptr(&b), buf_remaining(&b), collect, &e, &st), MAMORI_ERR_INVAL);
    assert_int_equal(e.n, ITEMS_CSV_ERRORS_MAX + 1); /* 100 errors + "too many errors" */
    buf_free(&b);
    uint64_t n = 1;
    assert_int_equal(items_count(it, &n), 0);
    assert_int_equal(n, 0);
    items_free(it);
}

static void test_ops1_import_file_and_sample_master(void **state)
{
    struct items *it = open_mem();
    struct errs e;
    struct items_import_stats st;
    struct items_item x;
    char path[4096];
    const char *src = getenv("MAMORI_SOURCE");
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/data/items.csv", src);
    memset(&e, 0, sizeof(e));
    assert_int_equal(items_import_csv(it, path, collect, &e, &st), 0);
    assert_int_equal(e.n, 0);
    assert_true(st.imported >= 50);
    assert_int_equal(items_lookup_plu(it, 1, &x), 0); /* バナナ */
    assert_int_equal(x.tax_class, TAX_CLASS_REDUCED);
    memset(&e, 0, sizeof(e));
    assert_int_equal(items_import_csv(it, "/nonexistent/items.csv", collect, &e, &st), MAMORI_ERR_IO);
    assert_int_equal(e.n, 1);
    items_free(it);
}

static void test_ops1_weighed_price(void **state)
{
    int64_t p = 0;
    assert_int_equal(items_weighed_price(648, 150, &p), 0);
    assert_int_equal(p, 972); /* the NTA receipt's ギュウニク */
    assert_int_equal(items_weighed_price(258, 333, &p), 0);
    assert_int_equal(p, 859); /* 859.14 floor */
    assert_int_equal(items_weighed_price(258, 0, &p), MAMORI_ERR_INVAL);
    assert_int_equal(items_weighed_price(258, ITEMS_WEIGHT_MAX_G + 1, &p), MAMORI_ERR_INVAL);
    assert_int_equal(items_weighed_price(-1, 100, &p), MAMORI_ERR_INVAL);
}

static void test_ops1_put_validates(void **state)
{
    struct items *it = open_mem();
    struct items_item x = {.code = "4901234567894", .name = "テスト", .unit_price = 100,
                           .tax_class = TAX_CLASS_REDUCED, .department = 1};
    assert_int_equal(items_put(it, &x), 0);
    x.unit_price = 200;
    assert_int_equal(items_put(it, &x), 0); /* replace */
    struct items_item y;
    assert_int_equal(items_lookup(it, x.code, &y), 0);
    assert_int_equal(y.unit_price, 200);
    x.code[12] = '5';
    assert_int_equal(items_put(it, &x), MAMORI_ERR_INVAL);
    items_free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_import_and_lookup),
        cmocka_unit_test(test_ops1_bad_rows_reported_nothing_imported),
        cmocka_unit_test(test_dev16_hostile_csv),
        cmocka_unit_test(test_ops1_import_file_and_sample_master),
        cmocka_unit_test(test_ops1_weighed_price),
        cmocka_unit_test(test_ops1_put_validates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
