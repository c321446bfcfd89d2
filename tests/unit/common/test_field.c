/* Unit tests for src/common/field.c and log.c: POL-1/POL-3 data classes in code. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/field.h"
#include "common/log.h"
#include "mamori/err.h"

static void test_pol3_pan_masked_first6_last4(void **state)
{
    char out[32];
    field_mask_pan(out, sizeof(out), "4111111111111111");
    assert_string_equal(out, "411111******1111");
    field_mask_pan(out, sizeof(out), "4111 1111 1111 1111");
    assert_string_equal(out, "411111******1111");
    field_mask_pan(out, sizeof(out), "123456789"); /* short: last 4 only */
    assert_string_equal(out, "*****6789");
    field_mask_pan(out, sizeof(out), "1234");
    assert_string_equal(out, "****");
    field_mask_pan(out, 4, "4111111111111111"); /* truncated output stays NUL-terminated */
    assert_int_equal(strlen(out), 3);
}

static void test_pol1_high_field_refused_by_json(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    int r = field_list_json((const struct field[]){F_STR("who", "alice"), F_PIN("pin", "1234"),
                                                   F_PAN("pan", "4111111111111111"),
                                                   F_AMOUNT("yen", 1080), F_END},
                            &b);
    assert_int_equal(r, MAMORI_ERR_PERM);
    const char *s = (const char *)buf_ptr(&b);
    assert_non_null(strstr(s, "\"who\":\"alice\""));
    assert_non_null(strstr(s, "\"pin\":\"[refused:high]\""));
    assert_non_null(strstr(s, "411111******1111"));
    assert_null(strstr(s, "4111111111111111"));
    assert_null(strstr(s, "1234\""));
    assert_non_null(strstr(s, "\"yen\":1080"));
    buf_free(&b);
}

static void test_pol1_logger_refuses_high_and_masks_medium(void **state)
{
    char path[] = "/tmp/mamori-logtest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    log_setup(fd, LOG_DEBUG, "test");
    assert_int_equal(log_info("card.read", F_PAN("pan", "4111111111111111")), 0);
    assert_int_equal(log_info("point.read", F_MEMBER_NO("member", "9876543210987")), MAMORI_ERR_PERM);
    assert_int_equal(log_info("track", F_TRACK("t2", ";4111111111111111=2512101?")), MAMORI_ERR_PERM);
    log_setup(2, LOG_INFO, "test");
    char text[4096] = {0};
    assert_true(pread(fd, text, sizeof(text) - 1, 0) > 0);
    close(fd);
    unlink(path);
    assert_non_null(strstr(text, "pan=411111******1111"));
    assert_null(strstr(text, "4111111111111111"));
    assert_null(strstr(text, "9876543210987"));
    assert_non_null(strstr(text, "member=[refused:high]"));
}

static void test_log_quotes_hostile_values(void **state)
{
    char path[] = "/tmp/mamori-logtest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    log_setup(fd, LOG_DEBUG, "test");
    log_warn("x", F_STR("v", "a b\nfake=1 \"q\""));
    log_setup(2, LOG_INFO, "test");
    char text[1024] = {0};
    assert_true(pread(fd, text, sizeof(text) - 1, 0) > 0);
    close(fd);
    unlink(path);
    /* one line only: a newline in a value cannot forge a second record */
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
    assert_non_null(strstr(text, "v=\"a b?fake=1 \\\"q\\\"\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol3_pan_masked_first6_last4),
        cmocka_unit_test(test_pol1_high_field_refused_by_json),
        cmocka_unit_test(test_pol1_logger_refuses_high_and_masks_medium),
        cmocka_unit_test(test_log_quotes_hostile_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
