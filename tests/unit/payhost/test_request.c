/* Unit tests for src/payhost/request.c: valid requests and hostile bodies. */
#include "testutil.h"

#include <string.h>

#include "mamori/err.h"
#include "payhost/request.h"

#define CARD "\"card\":{\"ksn\":\"123456789012345600000001\",\"ct\":\"00112233445566778899aabbccddeeff\"," \
             "\"mac\":\"00112233445566778899aabbccddeeff\"}"
#define TOKEN "b13811a97a1862e699bf380a7c6f1394e51cec88f0dfd946650f376c818d022a"

static int parse(const char *s, struct payhost_request *q)
{
    return payhost_request_parse(s, strlen(s), q);
}

static void test_payhost_request_valid(void **state)
{
    struct payhost_request q;
    assert_int_equal(parse("{\"type\":\"sale\",\"amount\":1000,\"terminal\":\"T1\"," CARD
                           ",\"method\":{\"kind\":\"installments\",\"count\":6},\"signature\":true}", &q), 0);
    assert_int_equal(q.type, PAYHOST_SALE);
    assert_int_equal(q.amount, 1000);
    assert_int_equal(q.method, PAYHOST_INSTALLMENTS);
    assert_int_equal(q.installments, 6);
    assert_true(q.has_card && !q.has_pin && q.signature);
    assert_int_equal(q.card.ct_len, 16);
    assert_int_equal(parse("{\"type\":\"refund\",\"amount\":5,\"terminal\":\"T1\",\"token\":\"" TOKEN
                           "\",\"original_txn\":\"abc\"}", &q), 0);
    assert_int_equal(q.type, PAYHOST_REFUND);
    assert_string_equal(q.token, TOKEN);
    assert_int_equal(parse("{\"type\":\"void\",\"terminal\":\"T1\",\"original_txn\":\"abc\"}", &q), 0);
    assert_int_equal(q.type, PAYHOST_VOID);
    assert_int_equal(parse("{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\"," CARD
                           ",\"method\":{\"kind\":\"bonus\"}}", &q), 0);
    assert_int_equal(q.method, PAYHOST_BONUS);
}

static void test_payhost_request_hostile_rejected(void **state)
{
    struct payhost_request q;
    memset(&q, 0x77, sizeof(q));
    const char *bad[] = {
        "",
        "[]",
        "{\"type\":\"sale\"}",
        "{\"type\":\"sale\",\"amount\":1000,\"terminal\":\"T1\"}",                     /* no card */
        "{\"type\":\"sale\",\"amount\":0,\"terminal\":\"T1\"," CARD "}",               /* zero amount */
        "{\"type\":\"sale\",\"amount\":-5,\"terminal\":\"T1\"," CARD "}",
        "{\"type\":\"sale\",\"amount\":100000001,\"terminal\":\"T1\"," CARD "}",       /* over limit */
        "{\"type\":\"sale\",\"amount\":1.5,\"terminal\":\"T1\"," CARD "}",
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T 1\"," CARD "}",              /* bad id */
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\",\"extra\":1," CARD "}",   /* unknown key */
        "{\"type\":\"sale\",\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\"," CARD "}", /* duplicate */
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\",\"card\":{\"ksn\":\"12\",\"ct\":\"00\",\"mac\":\"00\"}}",
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\",\"card\":{\"ksn\":\"123456789012345600000001\","
        "\"ct\":\"001122334455667788\",\"mac\":\"00112233445566778899aabbccddeeff\"}}", /* ct not blocks */
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\"," CARD ",\"method\":{\"kind\":\"installments\"}}",
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\"," CARD ",\"method\":{\"kind\":\"installments\",\"count\":1}}",
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\"," CARD ",\"method\":{\"kind\":\"lump\",\"count\":2}}",
        "{\"type\":\"sale\",\"amount\":1,\"terminal\":\"T1\"," CARD ",\"method\":{\"kind\":\"credit\"}}",
        "{\"type\":\"refund\",\"amount\":1,\"terminal\":\"T1\",\"original_txn\":\"a\"}",  /* no token, no card */
        "{\"type\":\"refund\",\"amount\":1,\"terminal\":\"T1\",\"token\":\"zz\",\"original_txn\":\"a\"}",
        "{\"type\":\"void\",\"amount\":1,\"terminal\":\"T1\",\"original_txn\":\"a\"}",   /* amount on void */
        "{\"type\":\"void\",\"terminal\":\"T1\"}",
        "{\"type\":\"steal\",\"amount\":1,\"terminal\":\"T1\"," CARD "}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &q) == 0)
            fail_msg("accepted: %s", bad[i]);
    }
    assert_int_equal(((unsigned char *)&q)[0], 0x77); /* untouched */
    char big[PAYHOST_BODY_MAX + 2];
    memset(big, ' ', sizeof(big));
    assert_int_equal(payhost_request_parse(big, sizeof(big), &q), MAMORI_ERR_TOOBIG);
    assert_int_equal(payhost_request_parse(NULL, 0, &q), MAMORI_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payhost_request_valid),
        cmocka_unit_test(test_payhost_request_hostile_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
