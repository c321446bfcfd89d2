/* Unit tests for src/pos/jtext.c: UTF-8, display width, yen formatting. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/jtext.h"

static void test_ops6_jtext(void **state)
{
    size_t w;
    char y[32];
    assert_int_equal(jtext_width("ｺｰﾗ abc", &w), 0);
    assert_int_equal(w, 7);
    assert_int_equal(jtext_width("牛乳※", &w), 0);
    assert_int_equal(w, 6);
    assert_int_equal(jtext_width("\xe3\x81", &w), MAMORI_ERR_INVAL);
    assert_false(jtext_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(jtext_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_int_equal(jtext_yen(1234567, y, sizeof(y)), 0);
    assert_string_equal(y, "￥1,234,567");
    assert_int_equal(jtext_yen(-90, y, sizeof(y)), 0);
    assert_string_equal(y, "-￥90");
    assert_int_equal(jtext_yen(0, y, sizeof(y)), 0);
    assert_string_equal(y, "￥0");
    assert_int_equal(jtext_yen(INT64_MIN, y, sizeof(y)), MAMORI_ERR_INVAL);
    assert_int_equal(jtext_yen(1000, y, 4), MAMORI_ERR_TOOBIG);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(jtext_put_fit(&b, "明治おいしい牛乳", 5, true), 0);
    assert_int_equal(buf_remaining(&b), 6 + 1); /* 明治 (4 cols) + 1 space, no split kanji */
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops6_jtext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
