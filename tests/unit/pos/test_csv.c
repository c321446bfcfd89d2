/* Unit tests for src/pos/csv.c: RFC 4180 records, line numbers, limits, hostile bytes. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/csv.h"

static void test_dev16_csv_rfc4180(void **state)
{
    static const char in[] = "\xEF\xBB\xBF" "a,b,c\r\n"
                             "\r\n"
                             "\"x,1\",\"he said \"\"hi\"\"\",\"two\nlines\"\n"
                             ",,\n"
                             "last";
    struct buf b;
    struct csv_reader r;
    struct csv_record *rec = malloc(sizeof(*rec));
    uint64_t el = 0;
    assert_non_null(rec);
    buf_view(&b, in, sizeof(in) - 1);
    csv_reader_init(&r, &b);
    assert_int_equal(csv_next(&r, rec, &el), 1);
    assert_int_equal(rec->n, 3);
    assert_string_equal(rec->f[0], "a"); /* BOM skipped */
    assert_string_equal(rec->f[2], "c"); /* CR not part of the field */
    assert_int_equal(rec->line, 1);
    assert_int_equal(csv_next(&r, rec, &el), 1);
    assert_int_equal(rec->line, 3); /* blank line 2 skipped */
    assert_string_equal(rec->f[0], "x,1");
    assert_string_equal(rec->f[1], "he said \"hi\"");
    assert_string_equal(rec->f[2], "two\nlines");
    assert_int_equal(csv_next(&r, rec, &el), 1);
    assert_int_equal(rec->line, 5); /* the quoted newline counted */
    assert_int_equal(rec->n, 3);
    assert_int_equal(rec->len[0] + rec->len[1] + rec->len[2], 0);
    assert_int_equal(csv_next(&r, rec, &el), 1);
    assert_string_equal(rec->f[0], "last"); /* no final newline */
    assert_int_equal(csv_next(&r, rec, &el), 0);
    free(rec);
}

static void test_dev16_csv_hostile(void **state)
{
    static const struct {
        const char *in;
        int want;
        uint64_t line;
    } cases[] = {
        {"\"open", MAMORI_ERR_PROTO, 1},
        {"a\nb\"c\n", MAMORI_ERR_PROTO, 2},
        {"\"a\"b\n", MAMORI_ERR_PROTO, 1},
        {"a\rb\r\"x\"\rz\n", MAMORI_ERR_PROTO, 1},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", MAMORI_ERR_TOOBIG, 1},
    };
    struct csv_record *rec = malloc(sizeof(*rec));
    assert_non_null(rec);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        struct csv_reader r;
        uint64_t el = 0;
        int got;
        buf_view(&b, cases[i].in, strlen(cases[i].in));
        csv_reader_init(&r, &b);
        while ((got = csv_next(&r, rec, &el)) == 1)
            ;
        assert_int_equal(got, cases[i].want);
        assert_int_equal(el, cases[i].line);
    }
    /* A record of CSV_RECORD_MAX bytes is fine, one more is not. */
    char *big = malloc(CSV_RECORD_MAX + 3);
    assert_non_null(big);
    for (int extra = 0; extra <= 1; extra++) {
        struct buf b;
        struct csv_reader r;
        uint64_t el = 0;
        memset(big, 'x', CSV_RECORD_MAX + (size_t)extra);
        big[CSV_RECORD_MAX + extra] = '\n';
        buf_view(&b, big, CSV_RECORD_MAX + (size_t)extra + 1);
        csv_reader_init(&r, &b);
        assert_int_equal(csv_next(&r, rec, &el), extra ? MAMORI_ERR_TOOBIG : 1);
    }
    free(big);
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev16_csv_rfc4180),
        cmocka_unit_test(test_dev16_csv_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
