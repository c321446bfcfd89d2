/* Unit tests for src/pos/escpos_decode.c (OPS-6, DEV-16): the DOMAIN.md §5.3 stream and hostile bytes. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/escpos_decode.h"
#include "pos/jtext.h"

/* DOMAIN.md §5.3: the minimal stream decodes (Kanji, JAN13 Function B, QR, drawer, cut). */
static void test_ops6_decode_domain_stream(void **state)
{
    struct buf s;
    struct escpos_doc *d = NULL;
    buf_init(&s, 0);
    assert_int_equal(buf_put_bytes(&s, "\x1b\x40\x1b\x61\x01\x1b\x45\x01\x1d\x21\x11\x1c\x26\x1c\x43\x01", 16), 0);
    assert_int_equal(jtext_to_cp932("合計　", strlen("合計　"), &s), 0);
    assert_int_equal(buf_put_bytes(&s, "\\1,410\n\x1c\x2e", 9), 0); /* 0x5C: the yen trap */
    assert_int_equal(buf_put_bytes(&s, "\x1d\x6b\x43\x0d" "4901234567894", 17), 0);
    assert_int_equal(buf_put_bytes(&s, "\x1d\x28\x6b\x11\x00\x31\x50\x30" "T1234567890123", 22), 0);
    assert_int_equal(buf_put_bytes(&s, "\x1d\x28\x6b\x03\x00\x31\x51\x30", 8), 0);
    assert_int_equal(buf_put_bytes(&s, "\x1b\x70\x00\x19\xfa\x1d\x56\x41\x03", 9), 0);
    assert_int_equal(escpos_decode(buf_ptr(&s), buf_remaining(&s), &d), 0);
    assert_int_equal(d->n_lines, 1);
    assert_string_equal(d->lines[0], "合計　¥1,410");
    long i = escpos_doc_find(d, ESCPOS_BARCODE, 0);
    assert_true(i >= 0);
    assert_int_equal(d->cmds[i].arg, 67);
    assert_string_equal(d->cmds[i].data, "4901234567894");
    i = escpos_doc_find(d, ESCPOS_QR, 0);
    assert_true(i >= 0);
    assert_string_equal(d->cmds[i].data, "T1234567890123");
    assert_true(escpos_doc_find(d, ESCPOS_DRAWER, 0) >= 0);
    assert_true(escpos_doc_find(d, ESCPOS_CUT, 0) >= 0);
    struct buf txt;
    buf_init(&txt, 0);
    assert_int_equal(escpos_doc_text(d, &txt), 0);
    assert_non_null(memmem(buf_ptr(&txt), buf_remaining(&txt), "[BARCODE JAN13 4901234567894]", 29));
    buf_free(&txt);
    escpos_doc_free(d);
    buf_free(&s);
}

static void test_ops6_decode_hostile_bytes(void **state)
{
    struct escpos_doc *d = (struct escpos_doc *)0x1;
    static const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"\x1b", 1},                         /* truncated ESC */
        {"\x1b\x61", 2},                     /* missing parameter */
        {"\x1b\x99", 2},                     /* unknown ESC */
        {"\x1d\x6b\x49\x30" "ab", 6},        /* length beyond the data */
        {"\x1d\x6b\x02" "4901", 7},          /* Function A without NUL */
        {"\x1d\x28\x6b\xff\xff\x31\x50\x30", 8}, /* QR length beyond the data */
        {"\x1d\x28\x6b\x01\x00\x31", 6},
        {"\x07", 1},                         /* BEL: unknown control */
        {"\x81\n", 2},                       /* a CP932 lead byte alone */
        {"\x1c\x99", 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(escpos_decode(bad[i].p, bad[i].n, &d) < 0);
        assert_ptr_equal(d, (struct escpos_doc *)0x1);
    }
    /* a very long line */
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'a', 10000);
    assert_int_equal(escpos_decode(big, 10000, &d), MAMORI_ERR_TOOBIG);
    free(big);
    /* empty input is an empty document */
    assert_int_equal(escpos_decode("", 0, &d), 0);
    assert_int_equal(d->n_lines, 0);
    escpos_doc_free(d);
    escpos_doc_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops6_decode_domain_stream),
        cmocka_unit_test(test_ops6_decode_hostile_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
