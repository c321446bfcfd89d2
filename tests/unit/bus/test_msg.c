/* Unit tests for src/bus/msg.c: envelope round trip, canonical encoding, hostile CBOR. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "bus/msg.h"
#include "mamori/err.h"

static void test_roundtrip(void **state)
{
    struct msg m = {.id = 7, .ref = 300, .has_ref = true}, d;
    struct buf w;
    char s[32];
    int64_t i;
    bool b;
    const uint8_t *p;
    size_t n;
    strcpy(m.type, "scanner.data");
    m.body = msg_body_new();
    assert_int_equal(msg_put_str(m.body, "label", "4901234567894"), 0);
    assert_int_equal(msg_put_int(m.body, "neg", -70000), 0);
    assert_int_equal(msg_put_bytes(m.body, "raw", (const uint8_t *)"\x00\x01", 2), 0);
    assert_int_equal(msg_put_bool(m.body, "ok", true), 0);
    buf_init(&w, 0);
    assert_int_equal(msg_encode(&m, &w), 0);
    assert_int_equal(w.d[0], 0xa4); /* definite map of 4 */
    assert_int_equal(msg_decode(w.d, w.len, &d), 0);
    assert_string_equal(d.type, "scanner.data");
    assert_int_equal(d.id, 7);
    assert_true(d.has_ref);
    assert_int_equal(d.ref, 300);
    assert_int_equal(msg_get_str(d.body, "label", s, sizeof(s)), 0);
    assert_string_equal(s, "4901234567894");
    assert_int_equal(msg_get_int(d.body, "neg", &i), 0);
    assert_int_equal(i, -70000);
    assert_int_equal(msg_get_bytes(d.body, "raw", &p, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(msg_get_bool(d.body, "ok", &b), 0);
    assert_true(b);
    assert_int_equal(msg_get_int(d.body, "label", &i), MAMORI_ERR_INVAL);
    assert_int_equal(msg_get_int(d.body, "nope", &i), MAMORI_ERR_NOTFOUND);
    assert_int_equal(msg_get_str(d.body, "label", s, 5), MAMORI_ERR_TOOBIG);
    /* canonical: re-encoding gives the same bytes */
    {
        struct buf w2;
        buf_init(&w2, 0);
        assert_int_equal(msg_encode(&d, &w2), 0);
        assert_int_equal(w2.len, w.len);
        assert_memory_equal(w2.d, w.d, w.len);
        buf_free(&w2);
    }
    msg_clear(&m);
    msg_clear(&d);
    msg_clear(NULL);
    buf_free(&w);
}

static int dec(const char *hex)
{
    size_t n;
    uint8_t *p = testutil_unhex(hex, &n);
    struct msg m;
    int r = msg_decode(p, n, &m);
    if (r == 0)
        msg_clear(&m);
    free(p);
    return r;
}

static void test_hostile(void **state)
{
    /* valid minimal: {"t":"a","id":1} */
    assert_int_equal(dec("a261746161626964"
                         "01"),
                     0);
    /* trailing byte */
    assert_int_equal(dec("a26174616162696401"
                         "00"),
                     MAMORI_ERR_TRAILING);
    /* not a map */
    assert_int_equal(dec("83010203"), MAMORI_ERR_INVAL);
    /* duplicate key "t" */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "6174"
                         "6161"
                         "626964"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* indefinite map */
    assert_int_equal(dec("bf"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "ff"),
                     MAMORI_ERR_INVAL);
    /* unknown envelope key */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "6178"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* body not a map */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "6162"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* missing id */
    assert_int_equal(dec("a1"
                         "6174"
                         "6161"),
                     MAMORI_ERR_INVAL);
    /* bad type characters */
    assert_int_equal(dec("a2"
                         "6174"
                         "6141"
                         "626964"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* a NUL inside the type must not truncate it to a valid name */
    assert_int_equal(dec("a2"
                         "6174"
                         "63610062"
                         "626964"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* tag */
    assert_int_equal(dec("c1"
                         "a2"
                         "6174"
                         "6161"
                         "626964"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* non-text map key */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "01"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* body with integer keys (denominations) is fine */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "6162"
                         "a2"
                         "0a"
                         "01"
                         "1903e8"
                         "02"),
                     0);
    /* duplicate integer keys */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "6162"
                         "a2"
                         "0a"
                         "01"
                         "0a"
                         "02"),
                     MAMORI_ERR_INVAL);
    /* byte-string key */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "6162"
                         "a1"
                         "4101"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* non-shortest heads: id 1 as 0x1801, a 1-byte string with a 1-byte length */
    assert_int_equal(dec("a2"
                         "6174"
                         "6161"
                         "626964"
                         "1801"),
                     MAMORI_ERR_INVAL);
    assert_int_equal(dec("a2"
                         "6174"
                         "780161"
                         "626964"
                         "01"),
                     MAMORI_ERR_INVAL);
    /* string length past the end */
    assert_int_equal(dec("a261747a7fffffff"), MAMORI_ERR_TOOBIG);
    assert_int_equal(dec("a2617479ffff"), MAMORI_ERR_TOOBIG);
    assert_int_equal(dec("a261746561"), MAMORI_ERR_INVAL);
    /* reserved additional info */
    assert_int_equal(dec("a2"
                         "6174"
                         "6161"
                         "626964"
                         "1c"),
                     MAMORI_ERR_INVAL);
    /* huge array count */
    assert_int_equal(dec("9bffffffffffffffff"), MAMORI_ERR_TOOBIG);
    /* undefined simple value */
    assert_int_equal(dec("a3"
                         "6174"
                         "6161"
                         "626964"
                         "01"
                         "6162"
                         "f7"),
                     MAMORI_ERR_INVAL);
}

static void test_depth_limit(void **state)
{
    /* {"t":"a","id":1,"b":{"x":[[[[[[[[1]]]]]]]]}} nests past MSG_MAX_DEPTH */
    struct buf w;
    const char *head = "a3"
                       "6174"
                       "6161"
                       "626964"
                       "01"
                       "6162"
                       "a1"
                       "6178";
    size_t n;
    uint8_t *p = testutil_unhex(head, &n);
    struct msg m;
    buf_init(&w, 0);
    assert_int_equal(buf_put_bytes(&w, p, n), 0);
    for (int i = 0; i < MSG_MAX_DEPTH + 2; i++)
        assert_int_equal(buf_put_u8(&w, 0x81), 0);
    assert_int_equal(buf_put_u8(&w, 0x01), 0);
    assert_int_equal(msg_decode(w.d, w.len, &m), MAMORI_ERR_TOOBIG);
    buf_free(&w);
    free(p);
}

static void test_error_body(void **state)
{
    struct msg m, d;
    struct buf w;
    int64_t code;
    char t[32];
    assert_int_equal(msg_make_error(&m, 9, 4, MAMORI_ERR_BUSY, "claimed"), 0);
    buf_init(&w, 0);
    assert_int_equal(msg_encode(&m, &w), 0);
    assert_int_equal(msg_decode(w.d, w.len, &d), 0);
    assert_string_equal(d.type, "error");
    assert_int_equal(d.ref, 4);
    assert_int_equal(msg_get_int(d.body, "code", &code), 0);
    assert_int_equal(code, MAMORI_ERR_BUSY);
    assert_int_equal(msg_get_str(d.body, "msg", t, sizeof(t)), 0);
    assert_string_equal(t, "claimed");
    msg_clear(&m);
    msg_clear(&d);
    buf_free(&w);
}

static void test_encode_limits(void **state)
{
    struct msg m = {.id = 1};
    struct buf w;
    uint8_t *big = calloc(1, MSG_MAX_STRING);
    strcpy(m.type, "printer.print");
    m.body = msg_body_new();
    assert_int_equal(msg_put_bytes(m.body, "a", big, MSG_MAX_STRING), 0);
    assert_int_equal(msg_put_bytes(m.body, "b", big, MSG_MAX_STRING), 0);
    buf_init(&w, 0);
    assert_int_equal(msg_encode(&m, &w), MAMORI_ERR_TOOBIG);
    assert_int_equal(w.len, 0);
    strcpy(m.type, "Bad Type");
    assert_int_equal(msg_encode(&m, &w), MAMORI_ERR_INVAL);
    msg_clear(&m);
    buf_free(&w);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_depth_limit),   cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_encode_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
