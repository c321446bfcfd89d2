/* Unit tests for src/common/buf.c, including hostile reads. */
#include "testutil.h"

#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"

static void test_roundtrip(void **state)
{
    struct buf b;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    char s[3];
    buf_init(&b, 0);
    assert_int_equal(buf_put_u8(&b, 0xab), 0);
    assert_int_equal(buf_put_u16(&b, 0x1234), 0);
    assert_int_equal(buf_put_u32(&b, 0xdeadbeef), 0);
    assert_int_equal(buf_put_u64(&b, 0x0102030405060708ull), 0);
    assert_int_equal(buf_put_bytes(&b, "xyz", 3), 0);
    assert_int_equal(buf_remaining(&b), 1 + 2 + 4 + 8 + 3);
    assert_int_equal(buf_ptr(&b)[1], 0x12); /* big-endian on the wire */
    assert_int_equal(buf_get_u8(&b, &u8) || buf_get_u16(&b, &u16) || buf_get_u32(&b, &u32) ||
                         buf_get_u64(&b, &u64) || buf_get_bytes(&b, s, 3) || buf_end(&b),
                     0);
    assert_int_equal(u8, 0xab);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(u32, 0xdeadbeef);
    assert_true(u64 == 0x0102030405060708ull);
    assert_memory_equal(s, "xyz", 3);
    buf_free(&b);
}

static void test_short_read_leaves_state(void **state)
{
    const uint8_t data[3] = {1, 2, 3};
    struct buf b;
    uint32_t v = 77;
    buf_view(&b, data, sizeof(data));
    assert_int_equal(buf_get_u32(&b, &v), MAMORI_ERR_SHORT);
    assert_int_equal(v, 77); /* out-parameter untouched on failure */
    assert_int_equal(buf_remaining(&b), 3);
    assert_int_equal(buf_skip(&b, 4), MAMORI_ERR_SHORT);
    assert_int_equal(buf_skip(&b, 2), 0);
    assert_int_equal(buf_end(&b), MAMORI_ERR_TRAILING);
    assert_int_equal(buf_skip(&b, SIZE_MAX), MAMORI_ERR_SHORT);
}

static void test_view_is_read_only(void **state)
{
    const uint8_t data[1] = {9};
    struct buf b;
    buf_view(&b, data, 1);
    assert_int_equal(buf_put_u8(&b, 1), MAMORI_ERR_INVAL);
    buf_free(&b); /* must not free memory it does not own */
}

static void test_max_enforced(void **state)
{
    struct buf b;
    uint8_t *p;
    buf_init(&b, 10);
    assert_int_equal(buf_put_bytes(&b, "0123456789", 10), 0);
    assert_int_equal(buf_put_u8(&b, 1), MAMORI_ERR_TOOBIG);
    assert_int_equal(buf_reserve(&b, SIZE_MAX, &p), MAMORI_ERR_TOOBIG); /* no overflow */
    assert_int_equal(buf_remaining(&b), 10);
    buf_free(&b);
}

static void test_compact_and_secret(void **state)
{
    struct buf b;
    uint8_t v;
    buf_init_secret(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_put_u8(&b, (uint8_t)i), 0);
    assert_int_equal(buf_skip(&b, 990), 0);
    buf_compact(&b);
    assert_int_equal(buf_remaining(&b), 10);
    assert_int_equal(buf_get_u8(&b, &v), 0);
    assert_int_equal(v, (uint8_t)990);
    buf_free(&b);
    assert_null(b.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_short_read_leaves_state),
        cmocka_unit_test(test_view_is_read_only),
        cmocka_unit_test(test_max_enforced),
        cmocka_unit_test(test_compact_and_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
