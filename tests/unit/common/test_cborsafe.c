/* Hostile input: a float where a bool is expected must be refused, never
 * reach libcbor's asserting cbor_is_bool/cbor_get_bool (which abort on
 * floats). Messages are decoded from wire bytes through the bus decoder,
 * as a device or the terminal would receive them. */
#include "testutil.h"

#include <string.h>

#include <jansson.h>

#include "bus/msg.h"
#include "bus/msgjson.h"
#include "common/cborsafe.h"
#include "devices/devbody.h"
#include "mamori/err.h"

/* {"t": "x.y", "id": 1, "b": {"answer": VALUE}} with VALUE appended. */
static size_t envelope(const uint8_t *value, size_t vn, uint8_t *out)
{
    static const uint8_t head[] = {0xa3, 0x61, 't', 0x63, 'x', '.', 'y', 0x62, 'i', 'd', 0x01,
                                   0x61, 'b', 0xa1, 0x66, 'a', 'n', 's', 'w', 'e', 'r'};
    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), value, vn);
    return sizeof(head) + vn;
}

static void test_thr2_float_where_bool_expected_refused(void **state)
{
    static const uint8_t floats[][9] = {
        {0xf9, 0x3e, 0x00},                                     /* half 1.5 */
        {0xf9, 0x00, 0x00},                                     /* half 0.0 */
        {0xfa, 0x3f, 0x80, 0x00, 0x00},                         /* single 1.0 */
        {0xfb, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* double 1.0 */
        {0xfb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15}, /* double with low byte 0x15 (true) */
    };
    static const size_t lens[] = {3, 3, 5, 9, 9};
    (void)state;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t wire[64];
        size_t n = envelope(floats[i], lens[i], wire);
        struct msg m;
        bool b = true;
        json_t *j;
        assert_int_equal(msg_decode(wire, n, &m), 0); /* floats are valid on the bus */
        assert_int_equal(msg_get_bool(m.body, "answer", &b), MAMORI_ERR_INVAL);
        assert_int_equal(devbody_get_bool(m.body, "answer", &b), MAMORI_ERR_INVAL);
        assert_true(b); /* untouched */
        assert_false(cborsafe_is_bool(msg_get(m.body, "answer")));
        assert_false(cborsafe_is_null(msg_get(m.body, "answer")));
        j = msgjson_from_cbor(m.body); /* rendered as a number, not a bool */
        assert_non_null(j);
        assert_true(json_is_real(json_object_get(j, "answer")));
        json_decref(j);
        msg_clear(&m);
    }
}

static void test_thr2_real_bools_and_null_still_read(void **state)
{
    static const uint8_t vals[] = {0xf4, 0xf5, 0xf6};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        uint8_t wire[64];
        size_t n = envelope(&vals[i], 1, wire);
        struct msg m;
        bool b = false;
        assert_int_equal(msg_decode(wire, n, &m), 0);
        if (vals[i] == 0xf6) {
            assert_true(cborsafe_is_null(msg_get(m.body, "answer")));
            assert_int_equal(devbody_get_bool(m.body, "answer", &b), MAMORI_ERR_INVAL);
        } else {
            assert_int_equal(msg_get_bool(m.body, "answer", &b), 0);
            assert_int_equal(b, vals[i] == 0xf5);
            assert_int_equal(devbody_get_bool(m.body, "answer", &b), 0);
            assert_int_equal(b, vals[i] == 0xf5);
        }
        msg_clear(&m);
    }
    assert_false(cborsafe_is_bool(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thr2_float_where_bool_expected_refused),
        cmocka_unit_test(test_thr2_real_bools_and_null_still_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
