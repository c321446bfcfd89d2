/* Unit tests for src/devices/devbody.c, devidem.c, devstate.c, devlines.c. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devbody.h"
#include "devices/devidem.h"
#include "devices/devlines.h"
#include "devices/devstate.h"
#include "mamori/err.h"

static cbor_item_t *load(const uint8_t *p, size_t n)
{
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(p, n, &res);
    assert_non_null(it);
    return it;
}

static void test_getters_typed_and_limited(void **state)
{
    cbor_item_t *m = devbody_new();
    int64_t v;
    char s[8];
    const uint8_t *p;
    size_t n;
    bool b;
    assert_int_equal(devbody_put_int(m, "amount", 1500), 0);
    assert_int_equal(devbody_put_int(m, "neg", -7), 0);
    assert_int_equal(devbody_put_str(m, "idem", "abc"), 0);
    assert_int_equal(devbody_put_str(m, "long", "0123456789"), 0);
    assert_int_equal(devbody_put_bytes(m, "data", "\x1b@", 2), 0);
    assert_int_equal(devbody_put_bool(m, "ok", true), 0);
    assert_int_equal(devbody_check(m), 0);
    assert_int_equal(devbody_get_int(m, "amount", 1, 10000, &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(devbody_get_int(m, "neg", -10, 0, &v), 0);
    assert_int_equal(v, -7);
    v = 42; /* untouched on failure */
    assert_int_equal(devbody_get_int(m, "neg", 0, 10, &v), MAMORI_ERR_INVAL);
    assert_int_equal(devbody_get_int(m, "amount", 1, 1000, &v), MAMORI_ERR_INVAL);
    assert_int_equal(devbody_get_int(m, "idem", 0, 10, &v), MAMORI_ERR_INVAL); /* wrong type */
    assert_int_equal(devbody_get_int(m, "missing", 0, 10, &v), MAMORI_ERR_NOTFOUND);
    assert_int_equal(v, 42);
    assert_int_equal(devbody_get_str(m, "idem", s, sizeof(s)), 0);
    assert_string_equal(s, "abc");
    assert_int_equal(devbody_get_str(m, "long", s, sizeof(s)), MAMORI_ERR_TOOBIG);
    assert_int_equal(devbody_get_str(m, "amount", s, sizeof(s)), MAMORI_ERR_INVAL);
    assert_int_equal(devbody_get_bytes(m, "data", 2, &p, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(devbody_get_bytes(m, "data", 1, &p, &n), MAMORI_ERR_TOOBIG);
    assert_int_equal(devbody_get_bytes(m, "idem", 10, &p, &n), MAMORI_ERR_INVAL);
    assert_int_equal(devbody_get_bool(m, "ok", &b), 0);
    assert_true(b);
    assert_int_equal(devbody_get_bool(m, "amount", &b), MAMORI_ERR_INVAL);
    cbor_decref(&m);
}

static void test_hostile_maps_refused(void **state)
{
    /* duplicate key {"a":1,"a":2} */
    static const uint8_t dup[] = {0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02};
    /* integer key {1:1} */
    static const uint8_t intkey[] = {0xa1, 0x01, 0x01};
    /* an array, not a map */
    static const uint8_t arr[] = {0x81, 0x01};
    /* indefinite map {_ "a":1} */
    static const uint8_t indef[] = {0xbf, 0x61, 'a', 0x01, 0xff};
    /* string with an embedded NUL {"s":"a\0b"} */
    static const uint8_t nul[] = {0xa1, 0x61, 's', 0x63, 'a', 0x00, 'b'};
    /* uint64 max: does not fit int64 {"n": 2^64-1} */
    static const uint8_t huge[] = {0xa1, 0x61, 'n', 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    cbor_item_t *it;
    char s[8];
    int64_t v;
    it = load(dup, sizeof(dup));
    assert_int_equal(devbody_check(it), MAMORI_ERR_INVAL);
    cbor_decref(&it);
    it = load(intkey, sizeof(intkey));
    assert_int_equal(devbody_check(it), MAMORI_ERR_INVAL);
    cbor_decref(&it);
    it = load(arr, sizeof(arr));
    assert_int_equal(devbody_check(it), MAMORI_ERR_INVAL);
    assert_null(devbody_find(it, "a"));
    cbor_decref(&it);
    it = load(indef, sizeof(indef));
    assert_int_equal(devbody_check(it), MAMORI_ERR_INVAL);
    cbor_decref(&it);
    it = load(nul, sizeof(nul));
    assert_int_equal(devbody_check(it), 0);
    assert_int_equal(devbody_get_str(it, "s", s, sizeof(s)), MAMORI_ERR_INVAL);
    cbor_decref(&it);
    it = load(huge, sizeof(huge));
    assert_int_equal(devbody_get_int(it, "n", INT64_MIN, INT64_MAX, &v), MAMORI_ERR_INVAL);
    cbor_decref(&it);
    /* too many keys */
    cbor_item_t *m = cbor_new_definite_map(DEVBODY_MAX_KEYS + 1);
    for (int i = 0; i <= DEVBODY_MAX_KEYS; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(devbody_put_int(m, k, i), 0);
    }
    assert_int_equal(devbody_check(m), MAMORI_ERR_TOOBIG);
    cbor_decref(&m);
    assert_int_equal(devbody_check(NULL), 0);
}

static void test_state_atomic_roundtrip_and_corrupt(void **state)
{
    char *dir = testutil_tmpdir(), path[4200];
    cbor_item_t *m = devbody_new(), *back = NULL;
    assert_int_equal(devstate_load(dir, "x.state", &back), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devbody_put_int(m, "n", 7), 0);
    assert_int_equal(devstate_save(dir, "x.state", m), 0);
    assert_int_equal(devstate_load(dir, "x.state", &back), 0);
    assert_int_equal(cbor_map_size(back), 1);
    cbor_decref(&back);
    /* trailing garbage after the item is refused */
    snprintf(path, sizeof(path), "%s/x.state", dir);
    FILE *f = fopen(path, "ab");
    fputc(0x01, f);
    fclose(f);
    assert_int_equal(devstate_load(dir, "x.state", &back), MAMORI_ERR_INVAL);
    assert_null(back);
    /* a map declaring 2^32-1 entries in a 6-byte file is refused, not allocated */
    f = fopen(path, "wb");
    fwrite("\xba\xff\xff\xff\xff\x00", 1, 6, f);
    fclose(f);
    assert_int_equal(devstate_load(dir, "x.state", &back), MAMORI_ERR_INVAL);
    /* appends are capped */
    assert_int_equal(devstate_append(dir, "out", "abcd", 4, 6), 0);
    assert_int_equal(devstate_append(dir, "out", "abcd", 4, 6), MAMORI_ERR_TOOBIG);
    assert_int_equal(devstate_note(dir, "ev", "line\nforged 2nd line"), 0);
    snprintf(path, sizeof(path), "%s/device.log", dir);
    f = fopen(path, "r");
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        lines++;
    fclose(f);
    assert_int_equal(lines, 1); /* a newline in a detail cannot forge a record */
    cbor_decref(&m);
    testutil_rmtree(dir);
    free(dir);
}

static void test_idem_ring_and_conflict(void **state)
{
    struct devidem d, e;
    cbor_item_t *r1 = devbody_new(), *got = NULL;
    devidem_init(&d);
    devidem_init(&e);
    assert_int_equal(devbody_put_int(r1, "amount", 100), 0);
    assert_int_equal(devidem_lookup(&d, "k1", "fp", &got), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devidem_put(&d, "k1", "fp", r1), 0);
    assert_int_equal(devidem_lookup(&d, "k1", "fp", &got), 0);
    assert_ptr_equal(got, r1);
    cbor_decref(&got);
    assert_int_equal(devidem_lookup(&d, "k1", "other", &got), MAMORI_ERR_EXISTS);
    assert_int_equal(devidem_put(&d, "", "fp", r1), MAMORI_ERR_INVAL);
    /* serialised and back */
    cbor_item_t *ser = devidem_to_cbor(&d);
    assert_int_equal(devidem_from_cbor(&e, ser), 0);
    assert_int_equal(devidem_lookup(&e, "k1", "fp", &got), 0);
    cbor_decref(&got);
    cbor_decref(&ser);
    /* forgotten keys do not match and are not saved */
    devidem_forget(&e, "k1");
    assert_int_equal(devidem_lookup(&e, "k1", "fp", &got), MAMORI_ERR_NOTFOUND);
    /* the ring keeps the newest DEVIDEM_MAX */
    for (int i = 0; i < DEVIDEM_MAX + 5; i++) {
        char k[16];
        snprintf(k, sizeof(k), "n%d", i);
        assert_int_equal(devidem_put(&d, k, "fp", r1), 0);
    }
    assert_int_equal(d.n, DEVIDEM_MAX);
    assert_int_equal(devidem_lookup(&d, "k1", "fp", &got), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devidem_lookup(&d, "n4", "fp", &got), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devidem_lookup(&d, "n5", "fp", &got), 0);
    cbor_decref(&got);
    ser = devidem_to_cbor(&d);
    assert_int_equal(cbor_array_size(ser), DEVIDEM_MAX);
    cbor_decref(&ser);
    /* hostile serialised forms */
    cbor_item_t *bad = cbor_new_definite_array(1), *inner = cbor_new_definite_array(1);
    cbor_item_t *one = cbor_build_uint8(1);
    assert_true(cbor_array_push(inner, one));
    assert_true(cbor_array_push(bad, inner));
    struct devidem f;
    devidem_init(&f);
    assert_int_equal(devidem_from_cbor(&f, bad), MAMORI_ERR_INVAL);
    assert_int_equal(devidem_from_cbor(&f, one), MAMORI_ERR_INVAL);
    cbor_decref(&one);
    cbor_decref(&inner);
    cbor_decref(&bad);
    devidem_clear(&f);
    devidem_clear(&d);
    devidem_clear(&e);
    cbor_decref(&r1);
}

static cbor_item_t *lines_of(const char *a, const char *b)
{
    cbor_item_t *arr = cbor_new_definite_array(2);
    cbor_item_t *x = cbor_build_string(a);
    assert_true(cbor_array_push(arr, x));
    cbor_decref(&x);
    if (b != NULL) {
        x = cbor_build_string(b);
        assert_true(cbor_array_push(arr, x));
        cbor_decref(&x);
    }
    return arr;
}

static void test_lines_utf8_width_and_hostile(void **state)
{
    struct devlines l;
    bool cut = false;
    devlines_init(&l, 2, 20);
    cbor_item_t *a = lines_of("おにぎり 鮭", "¥150");
    assert_int_equal(devlines_set(&l, a, &cut), 0);
    assert_false(cut);
    assert_string_equal(l.line[0], "おにぎり 鮭");
    cbor_decref(&a);
    /* 12 full-width characters = 24 columns: cut to 10 characters */
    a = lines_of("あいうえおかきくけこさし", NULL);
    assert_int_equal(devlines_set(&l, a, &cut), 0);
    assert_true(cut);
    assert_string_equal(l.line[0], "あいうえおかきくけこ");
    assert_int_equal(l.n, 1);
    cbor_decref(&a);
    /* control characters, broken UTF-8, overlong, too many rows */
    a = lines_of("a\x1b[2Jb", NULL);
    assert_int_equal(devlines_set(&l, a, NULL), MAMORI_ERR_INVAL);
    cbor_decref(&a);
    a = lines_of("\xe3\x81", NULL);
    assert_int_equal(devlines_set(&l, a, NULL), MAMORI_ERR_INVAL);
    cbor_decref(&a);
    a = lines_of("\xc0\xaf", NULL);
    assert_int_equal(devlines_set(&l, a, NULL), MAMORI_ERR_INVAL);
    cbor_decref(&a);
    assert_string_equal(l.line[0], "あいうえおかきくけこ"); /* unchanged by refusals */
    devlines_init(&l, 1, 20);
    a = lines_of("x", "y");
    assert_int_equal(devlines_set(&l, a, NULL), MAMORI_ERR_TOOBIG);
    cbor_decref(&a);
    assert_int_equal(devlines_set(&l, NULL, NULL), MAMORI_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters_typed_and_limited),
        cmocka_unit_test(test_hostile_maps_refused),
        cmocka_unit_test(test_state_atomic_roundtrip_and_corrupt),
        cmocka_unit_test(test_idem_ring_and_conflict),
        cmocka_unit_test(test_lines_utf8_width_and_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
