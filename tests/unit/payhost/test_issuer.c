/* Unit tests for src/payhost/issuer.c: the simulator's issuer file and test
 * card ranges, with hostile files. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/err.h"
#include "payhost/issuer.h"

static char *write_file(const char *dir, const char *text)
{
    char *p = malloc(4200);
    snprintf(p, 4200, "%s/issuers.txt", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_issuer_file_and_ranges(void **state)
{
    char *dir = testutil_tmpdir(), *p;
    struct issuer *is;
    int line = 0;
    p = write_file(dir, "# test cards\n4111111111111111 1234 50000 active  # visa\n\n"
                        "5555555555554444 - 1000 blocked\n378282246310005 4321 7 lost\n");
    assert_int_equal(issuer_load(p, &is, &line), 0);
    const struct issuer_card *c = issuer_find(is, "4111111111111111");
    assert_non_null(c);
    assert_string_equal(c->pin, "1234");
    assert_int_equal(c->limit, 50000);
    assert_int_equal(c->status, ISSUER_ACTIVE);
    c = issuer_find(is, "5555555555554444");
    assert_non_null(c);
    assert_string_equal(c->pin, "");
    assert_int_equal(c->status, ISSUER_BLOCKED);
    assert_int_equal(issuer_find(is, "378282246310005")->status, ISSUER_LOST);
    assert_null(issuer_find(is, "4111111111111112"));
    issuer_free(is);
    issuer_free(NULL);
    assert_int_equal(issuer_range_rule("4000000000000002"), ISSUER_RANGE_DECLINE);
    assert_int_equal(issuer_range_rule("4000010000000001"), ISSUER_RANGE_NSF);
    assert_int_equal(issuer_range_rule("4242424242424242"), ISSUER_RANGE_APPROVE);
    assert_int_equal(issuer_range_rule("5105105105105100"), ISSUER_RANGE_NONE);
    /* a missing file is an empty issuer */
    char missing[4200];
    snprintf(missing, sizeof(missing), "%s/none.txt", dir);
    assert_int_equal(issuer_load(missing, &is, &line), 0);
    assert_null(issuer_find(is, "4111111111111111"));
    issuer_free(is);
    free(p);
    testutil_rmtree(dir);
    free(dir);
}

static void test_issuer_hostile_files_rejected(void **state)
{
    char *dir = testutil_tmpdir();
    const char *bad[] = {
        "4111111111111112 1234 50000 active\n",   /* Luhn */
        "4111111111111111 12 50000 active\n",     /* short PIN */
        "4111111111111111 1234 -5 active\n",      /* negative limit */
        "4111111111111111 1234 50000 stolen\n",   /* unknown status */
        "4111111111111111 1234 50000\n",          /* missing field */
        "4111111111111111 1234 50000 active x\n", /* extra field */
        "41111 1234 50000 active\n",              /* short PAN */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *p = write_file(dir, bad[i]);
        struct issuer *is = NULL;
        int line = 0;
        assert_int_equal(issuer_load(p, &is, &line), MAMORI_ERR_INVAL);
        assert_null(is);
        assert_int_equal(line, 1);
        free(p);
    }
    /* over the size limit */
    char *big = malloc(ISSUER_FILE_MAX + 100);
    memset(big, '#', ISSUER_FILE_MAX + 99);
    big[ISSUER_FILE_MAX + 99] = '\0';
    char *p = write_file(dir, big);
    struct issuer *is = NULL;
    assert_int_equal(issuer_load(p, &is, NULL), MAMORI_ERR_TOOBIG);
    free(big);
    free(p);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issuer_file_and_ranges),
        cmocka_unit_test(test_issuer_hostile_files_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
