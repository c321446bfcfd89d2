/* Unit tests for src/bus/msgjson.c: JSON <-> CBOR bodies for local tools,
 * hex byte strings, integer keys, hostile input. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "bus/msg.h"
#include "bus/msgjson.h"
#include "mamori/err.h"

static void test_roundtrip(void **state)
{
    json_error_t je;
    json_t *j = json_loads("{\"lines\":[\"a\",\"b\"],\"n\":-5,\"ok\":true,\"raw\":\"hex:00ff\","
                           "\"x\":null,\"f\":1.5,\"m\":{\"k\":1}}",
                           0, &je);
    cbor_item_t *c = NULL;
    const uint8_t *p;
    size_t n;
    int64_t i;
    assert_non_null(j);
    assert_int_equal(msgjson_to_cbor(j, &c), 0);
    assert_int_equal(msg_get_bytes(c, "raw", &p, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(p[1], 0xff);
    assert_int_equal(msg_get_int(c, "n", &i), 0);
    assert_int_equal(i, -5);
    json_t *back = msgjson_from_cbor(c);
    assert_non_null(back);
    assert_true(json_equal(j, back));
    json_decref(back);
    json_decref(j);
    cbor_decref(&c);
}

static void test_int_keys_and_hostile(void **state)
{
    cbor_item_t *m = cbor_new_definite_map(2), *c = NULL;
    json_t *j;
    json_error_t je;
    cbor_item_t *k = msg_item_int(1000), *v = msg_item_int(3);
    assert_true(cbor_map_add(m, (struct cbor_pair){.key = k, .value = v}));
    cbor_decref(&k);
    cbor_decref(&v);
    j = msgjson_from_cbor(m);
    assert_int_equal(json_integer_value(json_object_get(j, "1000")), 3);
    json_decref(j);
    cbor_decref(&m);
    /* bad hex */
    j = json_loads("{\"raw\":\"hex:0g\"}", 0, &je);
    assert_int_equal(msgjson_to_cbor(j, &c), MAMORI_ERR_INVAL);
    json_decref(j);
    /* too deep */
    j = json_loads("[[[[[[[[[[[[1]]]]]]]]]]]]", 0, &je);
    assert_int_equal(msgjson_to_cbor(j, &c), MAMORI_ERR_INVAL);
    assert_null(c);
    json_decref(j);
    j = msgjson_from_cbor(NULL);
    assert_true(json_is_null(j));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_int_keys_and_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
