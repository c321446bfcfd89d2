/* Unit tests for src/guard/guardconf.c: a typo never weakens the policy. */
#include "testutil.h"

#include <string.h>

#include "guard/guardconf.h"
#include "mamori/err.h"

#define PUB "937d5a85bbb8329f4cf2831e63c722638d8c0fc5fef3b28569816f16b6777225"
#define BASE "[guard]\nmanifest = /m\npubkey = " PUB "\naudit = /a.db\nwatch = /w\n"

static void test_valid_config_and_defaults(void **state)
{
    struct guardconf c;
    assert_int_equal(guardconf_parse(BASE "integrity = /i1\nintegrity = /i2\nwatch = /w2\n", &c), 0);
    assert_int_equal(c.mode, GUARD_ENFORCE); /* default: enforce */
    assert_string_equal(c.manifest, "/m");
    assert_int_equal(c.pub[0], 0x93);
    assert_int_equal(c.nwatch, 2);
    assert_int_equal(c.nintegrity, 2);
    assert_false(c.allow_system_mounts);
    assert_true(c.max_hash_bytes > 0);
    guardconf_free(&c);
    assert_int_equal(c.spin_us, 0);
    guardconf_free(&c);
    assert_int_equal(guardconf_parse(BASE "spin_us = 50\n", &c), 0);
    assert_int_equal(c.spin_us, 50);
    guardconf_free(&c);
    /* POL-5: the withdrawn kernel-side cache is refused, never silently ignored */
    assert_int_equal(guardconf_parse(BASE "kernel_cache = yes\n", &c), MAMORI_ERR_CONFIG);
    assert_int_equal(guardconf_parse(BASE "kernel_cache = no\n", &c), MAMORI_ERR_CONFIG);
    assert_int_equal(guardconf_parse(BASE "mode = detect\nwatchdog_sec = 5\n", &c), 0);
    assert_int_equal(c.mode, GUARD_DETECT);
    assert_int_equal(c.watchdog_sec, 5);
    guardconf_free(&c);
    guardconf_free(NULL);
}

static void test_hostile_configs_refused(void **state)
{
    static const char *bad[] = {
        BASE "mode = permissive\n",   /* unknown mode */
        BASE "mdoe = detect\n",       /* typo'd key */
        BASE "watch = relative\n",
        BASE "manifest = /again\n",   /* repeated */
        BASE "watchdog_sec = 0\n",
        BASE "max_hash_bytes = -1\n",
        BASE "allow_system_mounts = maybe\n",
        BASE "kernel_cache = 1\n",
        BASE "spin_us = 5000\n",
        "[guard]\nmanifest = /m\naudit = /a\nwatch = /w\n", /* no key */
        "[guard]\nmanifest = /m\npubkey = zz\naudit = /a\nwatch = /w\n",
        "[guard]\nmanifest = /m\npubkey = " PUB "\naudit = /a\n", /* nothing watched */
        "[other]\nmode = detect\n",
    };
    struct guardconf c;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(guardconf_parse(bad[i], &c), MAMORI_ERR_CONFIG);
    assert_int_equal(guardconf_parse(BASE "mode = permissive\n", &c), MAMORI_ERR_CONFIG);
    assert_int_equal(c.err_line, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_config_and_defaults),
        cmocka_unit_test(test_hostile_configs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
