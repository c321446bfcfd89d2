/*
 * test_console: the register console's command language (OPS-1..5 through
 * the operator's keys): scripts, the '!' expected-refusal rule, and hostile
 * lines (tokenizer limits, control bytes, nonsense arguments).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/console.h"

static int setup(void **state)
{
    static struct posfix f;
    posfix_setup(&f, true, false);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    posfix_teardown(*state);
    return 0;
}

static void test_ops1_console_tokenize_hostile(void **state)
{
    char buf[CONSOLE_LINE_MAX + 1], *tok[CONSOLE_TOKENS_MAX], big[CONSOLE_LINE_MAX + 10];
    size_t n = 99;
    (void)state;
    assert_int_equal(console_tokenize("scan  123\t2 # c\n", 16, buf, sizeof(buf), tok, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(tok[0], "scan");
    assert_string_equal(tok[2], "2");
    assert_int_equal(console_tokenize("a\0b", 3, buf, sizeof(buf), tok, &n), MAMORI_ERR_INVAL);
    assert_int_equal(console_tokenize("a\x1b[2J", 5, buf, sizeof(buf), tok, &n), MAMORI_ERR_INVAL);
    memset(big, 'a', sizeof(big));
    assert_int_equal(console_tokenize(big, sizeof(big), buf, sizeof(buf), tok, &n),
                     MAMORI_ERR_TOOBIG);
    assert_int_equal(console_tokenize("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", 40, buf,
                                      sizeof(buf), tok, &n), MAMORI_ERR_TOOBIG);
    assert_int_equal(console_tokenize("   # only a comment", 19, buf, sizeof(buf), tok, &n), 0);
    assert_int_equal(n, 0);
}

static void test_ops1_console_script(void **state)
{
    struct posfix *f = *state;
    struct console *c;
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    static const char script[] =
        "signon csh 2222\n"
        "!scan 4901234567895\n"          /* bad check digit */
        "!scan 4999999999990\n"          /* unknown */
        "!scan " POSFIX_COLA " 0\n"
        "!scan " POSFIX_COLA " -5\n"
        "!scan " POSFIX_COLA " 99999999999999999999\n"
        "!dept 1 -100\n"
        "!frobnicate\n"
        "scan " POSFIX_COLA "\n"
        "scan " POSFIX_BEEF "\n"
        "scan " POSFIX_PASTE "\n"
        "subtotal\n"
        "!void 2\n"                      /* after subtotal: manager needed */
        "!void 2 mgr wrong\n"
        "!cash 1409\n"                   /* below total */
        "sim insert 1500\n"
        "deposit\n"
        "receipt\n";
    FILE *in = fmemopen((void *)script, sizeof(script) - 1, "r");
    assert_int_equal(console_new(f->t, f->sim, o, &c), 0);
    assert_int_equal(console_run(c, in, false, true), 0);
    fclose(in);
    /* a '!' line that succeeds fails the script */
    assert_int_equal(console_line(c, "!scan " POSFIX_COLA), MAMORI_ERR_STATE);
    assert_int_equal(console_line(c, "!"), MAMORI_ERR_INVAL);
    console_free(c);
    fclose(o);
    assert_non_null(strstr(out, "receipt 1 complete, change ¥90"));
    assert_non_null(strstr(out, "お釣"));
    assert_non_null(strstr(out, "check digit wrong"));
    assert_null(strstr(out, "2222"));      /* passwords are not echoed */
    assert_int_equal(txn_last_change(f->t), 90);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_console_tokenize_hostile),
        cmocka_unit_test_setup_teardown(test_ops1_console_script, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
