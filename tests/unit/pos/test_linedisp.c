/* Unit tests for src/pos/linedisp.c (OPS-6): 20x2 display rows. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/jtext.h"
#include "pos/linedisp.h"

static void test_ops6_linedisp(void **state)
{
    struct linedisp d;
    size_t w;
    assert_int_equal(linedisp_item("明治おいしい牛乳 1000ml", 2, 556, &d), 0);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(jtext_width(d.row[r], &w), 0);
        assert_int_equal(w, LINEDISP_COLS);
    }
    assert_non_null(strstr(d.row[0], "明治おいしい牛乳"));
    assert_non_null(strstr(d.row[1], "x2"));
    assert_non_null(strstr(d.row[1], "￥556"));
    assert_int_equal(linedisp_subtotal(3, 1410, &d), 0);
    assert_non_null(strstr(d.row[1], "￥1,410"));
    assert_int_equal(linedisp_change(1500, 90, &d), 0);
    assert_non_null(strstr(d.row[1], "￥90"));
    assert_int_equal(linedisp_text("年齢確認をお願いします。二十歳以上ですか?", "はい / いいえ", &d), 0);
    assert_int_equal(jtext_width(d.row[0], &w), 0);
    assert_int_equal(w, LINEDISP_COLS);
    assert_int_equal(linedisp_item("x", 0, 1, &d), MAMORI_ERR_INVAL);
    assert_int_equal(linedisp_item("\xff", 1, 1, &d), MAMORI_ERR_INVAL);
    assert_int_equal(linedisp_item("ok", 1, 9000000000000000000LL, &d), MAMORI_ERR_TOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops6_linedisp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
