/* Unit tests for src/devices/track.c (ISO/IEC 7813 track parsing, DEV-7). */
#include "testutil.h"

#include <string.h>

#include "devices/track.h"
#include "mamori/err.h"

#define T1 "%B4111111111111111^MAMORI/TARO^2812101123456789?"
#define T2 ";4111111111111111=28121011234567?"

static void test_track1_and_track2_parse(void **state)
{
    struct track_card c;
    char masked[TRACK_PAN_MAX + 1];
    assert_int_equal(track_parse(T1, T2, &c), 0);
    assert_string_equal(c.pan, "4111111111111111");
    assert_string_equal(c.expiry, "2812");
    assert_string_equal(c.service, "101");
    assert_string_equal(c.name, "MAMORI/TARO");
    assert_int_equal(c.tracks, 3);
    track_masked_pan(&c, masked);
    assert_string_equal(masked, "411111******1111");
    track_wipe(&c);
    assert_int_equal(c.pan[0], 0);
    /* without sentinels, track 2 alone, absent expiry and service */
    assert_int_equal(track_parse(NULL, "4111111111111111=2812101", &c), 0);
    assert_int_equal(c.tracks, 2);
    assert_int_equal(track_parse2(";5555555555554444==?", 20, &c), 0);
    assert_string_equal(c.expiry, "");
    assert_string_equal(c.service, "");
    assert_int_equal(track_parse1("B4111111111111111^AB^^", 22, &c), 0);
}

static void test_track_hostile_refused(void **state)
{
    struct track_card c;
    memset(&c, 0x5a, sizeof(c));
    const char *bad1[] = {
        "%B4111111111111111^MAMORI/TARO^2812101",    /* start without end sentinel */
        "B4111111111111111^MAMORI/TARO^2812101?",    /* end without start */
        "%A4111111111111111^MAMORI/TARO^2812101?",   /* format code A */
        "%B41111111^MAMORI/TARO^2812101?",           /* PAN too short */
        "%B41111111111111111111^MAMORI/TARO^2812?",  /* PAN too long */
        "%B4111111111111111^X^2812101?",             /* name too short */
        "%B4111111111111111^MAMORI/TARO^2813101?",   /* month 13 */
        "%B4111111111111111^MAMORI/TARO^28a2101?",   /* non-digit date */
        "%B4111x11111111111^MAMORI/TARO^2812101?",   /* non-digit PAN */
        "%B4111111111111111^mamori/taro^2812101?",   /* lower case is not track 1 */
        "%B4111111111111111MAMORI/TARO2812101?",     /* no separators */
        "",
    };
    for (size_t i = 0; i < sizeof(bad1) / sizeof(bad1[0]); i++)
        assert_int_not_equal(track_parse1(bad1[i], strlen(bad1[i]), &c), 0);
    const char *bad2[] = {
        ";4111111111111111=2812101",       /* unpaired sentinel */
        ";4111111111111111^2812101?",      /* wrong separator */
        ";4111111111111111=2800101?",      /* month 00 */
        ";4111111111111111=28121A1?",      /* bad service code char */
        ";4111111111111111=2812101;?",     /* sentinel inside data */
        "4111111111111111",                /* no separator */
    };
    for (size_t i = 0; i < sizeof(bad2) / sizeof(bad2[0]); i++)
        assert_int_not_equal(track_parse2(bad2[i], strlen(bad2[i]), &c), 0);
    char big[200];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(track_parse1(big, strlen(big), &c), MAMORI_ERR_TOOBIG);
    assert_int_equal(track_parse2(big, strlen(big), &c), MAMORI_ERR_TOOBIG);
    /* tracks of two different cards */
    assert_int_equal(track_parse(T1, ";5555555555554444=28121011234567?", &c), MAMORI_ERR_INVAL);
    assert_int_equal(track_parse(NULL, NULL, &c), MAMORI_ERR_INVAL);
    /* out-parameter untouched by every refusal */
    assert_int_equal((unsigned char)c.pan[0], 0x5a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track1_and_track2_parse),
        cmocka_unit_test(test_track_hostile_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
