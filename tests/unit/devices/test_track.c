/* Unit tests for src/devices/track.c: track 1/2 parsing, Luhn (checkdigits.json
 * vectors), expiry, and hostile inputs. */
#include "testutil.h"

#include <string.h>

#include "devices/track.h"
#include "mamori/err.h"

#define T(s) (const uint8_t *)(s), strlen(s)

static void test_track1_parses_fields(void **state)
{
    struct track_data t;
    assert_int_equal(track1_parse(T("%B4111111111111111^YAMADA/TARO^2812101123456789?"), &t), 0);
    assert_string_equal(t.pan, "4111111111111111");
    assert_string_equal(t.name, "YAMADA/TARO");
    assert_string_equal(t.expiry, "2812");
    assert_string_equal(t.service_code, "101");
    assert_int_equal(t.discretionary_len, 9);
    assert_int_equal(track_parse(T("%B4111111111111111^YAMADA/TARO^2812101?"), &t), 0);
    assert_int_equal(t.discretionary_len, 0);
    track_data_wipe(&t);
    assert_int_equal(t.pan[0], 0);
}

static void test_track2_parses_fields_and_absent_values(void **state)
{
    struct track_data t;
    assert_int_equal(track2_parse(T(";4111111111111111=28121011234567890?"), &t), 0);
    assert_string_equal(t.pan, "4111111111111111");
    assert_string_equal(t.expiry, "2812");
    assert_string_equal(t.service_code, "101");
    assert_string_equal(t.name, "");
    assert_int_equal(track_parse(T(";4111111111111111==101?"), &t), 0);
    assert_string_equal(t.expiry, "");
    assert_string_equal(t.service_code, "101");
    assert_int_equal(track_parse(T(";4111111111111111=2812=?"), &t), 0);
    assert_string_equal(t.expiry, "2812");
    assert_string_equal(t.service_code, "");
}

/* DEV-7: the parser is the MSR's first contact with outside bytes. */
static void test_dev7_track_hostile_inputs_rejected(void **state)
{
    struct track_data t;
    memset(&t, 0x5a, sizeof(t));
    const char *bad[] = {
        "",                                                   /* empty */
        "%",                                                  /* sentinel only */
        "B4111111111111111^A/B^2812101?",                     /* no start sentinel */
        "%A4111111111111111^A/B^2812101?",                    /* format code A */
        "%B4111111111111111^A/B^2812101",                     /* no end sentinel */
        "%B4111111111111111^A/B^2812101?X",                   /* trailing data (LRC) */
        "%B41111111111^A/B^2812101?",                         /* 11-digit PAN */
        "%B41111111111111111111^A/B^2812101?",                /* 20-digit PAN */
        "%B4111111111111111^A^2812101?",                      /* 1-char name */
        "%B4111111111111111^ABCDEFGHIJKLMNOPQRSTUVWXYZA^2812101?", /* 27-char name */
        "%B4111111111111111^A/B^2813101?",                    /* month 13 */
        "%B4111111111111111^A/B^28121?",                      /* short service code */
        "%B41111111111111X1^A/B^2812101?",                    /* letter in PAN */
        "%B4111111111111111^A/B^2812101%?",                   /* sentinel in discretionary */
        "%B4111111111111111^a/b^2812101?",                    /* lower case outside the 6-bit set */
        ";4111111111111111",                                  /* no separator */
        ";4111111111111111=2812101",                          /* no end sentinel */
        ";4111111111111111=2800101?",                         /* month 00 */
        ";4111111111111111=2812101A?",                        /* non-track-2 character */
        ";4111111111111111=2812101?;",                        /* trailing */
        "?4111111111111111=2812101?",                         /* wrong start */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = track_parse(T(bad[i]), &t);
        if (r == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_true(r == MAMORI_ERR_INVAL);
    }
    /* Luhn failure has its own code */
    assert_int_equal(track_parse(T(";4111111111111112=2812101?"), &t), MAMORI_ERR_CHECKSUM);
    assert_int_equal(track_parse(T("%B4111111111111112^A/B^2812101?"), &t), MAMORI_ERR_CHECKSUM);
    /* over-long tracks */
    char longt[200];
    memset(longt, '1', sizeof(longt));
    longt[0] = ';';
    assert_int_equal(track2_parse((const uint8_t *)longt, TRACK2_MAX + 1, &t), MAMORI_ERR_TOOBIG);
    longt[0] = '%';
    assert_int_equal(track1_parse((const uint8_t *)longt, TRACK1_MAX + 1, &t), MAMORI_ERR_TOOBIG);
    /* ret untouched on failure */
    assert_int_equal((unsigned char)t.pan[0], 0x5a);
    assert_int_equal(track_parse(NULL, 0, &t), MAMORI_ERR_INVAL);
}

static void test_track_luhn_vectors(void **state)
{
    json_t *doc = testutil_load_json("checkdigits.json");
    json_t *l = json_object_get(doc, "luhn");
    json_t *a = json_object_get(l, "valid");
    assert_true(json_array_size(a) >= 5);
    for (size_t i = 0; i < json_array_size(a); i++)
        assert_true(track_luhn_ok(json_string_value(json_object_get(json_array_get(a, i), "number"))));
    a = json_object_get(l, "invalid_checksum");
    assert_true(json_array_size(a) >= 2);
    for (size_t i = 0; i < json_array_size(a); i++)
        assert_false(track_luhn_ok(json_string_value(json_object_get(json_array_get(a, i), "number"))));
    a = json_object_get(l, "calc_check_digit");
    assert_true(json_array_size(a) >= 4);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        int d = track_luhn_digit(json_string_value(json_object_get(v, "body")));
        assert_int_equal(d, json_string_value(json_object_get(v, "check_digit"))[0]);
    }
    json_decref(doc);
    assert_false(track_luhn_ok(""));
    assert_false(track_luhn_ok("12a4"));
    assert_int_equal(track_luhn_digit("x"), -1);
}

static void test_track_expiry(void **state)
{
    assert_true(track_expiry_ok("2812", 2026, 11));
    assert_true(track_expiry_ok("2611", 2026, 11));  /* valid through its month */
    assert_false(track_expiry_ok("2610", 2026, 11));
    assert_false(track_expiry_ok("2613", 2026, 1));
    assert_false(track_expiry_ok("261", 2026, 1));
    assert_false(track_expiry_ok(NULL, 2026, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track1_parses_fields),
        cmocka_unit_test(test_track2_parses_fields_and_absent_values),
        cmocka_unit_test(test_dev7_track_hostile_inputs_rejected),
        cmocka_unit_test(test_track_luhn_vectors),
        cmocka_unit_test(test_track_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
