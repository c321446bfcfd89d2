/* Unit tests for src/bus/cert.c: issue/decode/verify, canonical form, forgeries. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "bus/cert.h"
#include "mamori/err.h"

static void make(struct cert *c, struct keys *dev)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->model, "MS-SCAN-1");
    strcpy(c->serial, "SC-0001");
    keys_dh_public(dev, c->bus_pub);
    keys_sign_public(dev, c->log_pub);
    memset(c->fw, 0xab, sizeof(c->fw));
    c->issued = 1760000000;
}

static void test_issue_decode_verify(void **state)
{
    struct keys *ca, *other, *dev;
    struct cert c, d;
    struct buf w;
    uint8_t capub[32], otherpub[32];
    assert_int_equal(keys_generate(&ca), 0);
    assert_int_equal(keys_generate(&other), 0);
    assert_int_equal(keys_generate(&dev), 0);
    keys_sign_public(ca, capub);
    keys_sign_public(other, otherpub);
    make(&c, dev);
    buf_init(&w, CERT_MAX);
    assert_int_equal(cert_issue(&c, ca, &w), 0);
    assert_int_equal(cert_decode(w.d, w.len, &d), 0);
    assert_string_equal(d.serial, "SC-0001");
    assert_memory_equal(d.bus_pub, c.bus_pub, 32);
    assert_int_equal(d.issued, 1760000000);
    assert_int_equal(cert_verify(&d, capub), 0);
    assert_int_equal(cert_verify(&d, otherpub), MAMORI_ERR_AUTH); /* not our CA */
    /* a field changed after signing */
    d.fw[0] ^= 1;
    assert_int_equal(cert_verify(&d, capub), MAMORI_ERR_AUTH);
    /* a self-signed certificate claiming to be from the CA */
    {
        struct cert f;
        struct buf w2;
        make(&f, dev);
        buf_init(&w2, CERT_MAX);
        assert_int_equal(cert_issue(&f, other, &w2), 0);
        assert_int_equal(cert_decode(w2.d, w2.len, &d), 0);
        memcpy(d.ca, capub, 32);
        assert_int_equal(cert_verify(&d, capub), MAMORI_ERR_AUTH);
        buf_free(&w2);
    }
    /* every single-byte corruption fails to decode or to verify */
    for (size_t i = 0; i < w.len; i++) {
        w.d[i] ^= 0x01;
        if (cert_decode(w.d, w.len, &d) == 0)
            assert_int_not_equal(cert_verify(&d, capub), 0);
        w.d[i] ^= 0x01;
    }
    /* truncation and trailing data */
    assert_int_not_equal(cert_decode(w.d, w.len - 1, &d), 0);
    assert_int_equal(buf_put_u8(&w, 0), 0);
    assert_int_equal(cert_decode(w.d, w.len, &d), MAMORI_ERR_TRAILING);
    buf_free(&w);
    keys_free(ca);
    keys_free(other);
    keys_free(dev);
}

static void test_bad_fields_refused(void **state)
{
    struct keys *ca, *dev;
    struct cert c;
    struct buf w;
    assert_int_equal(keys_generate(&ca), 0);
    assert_int_equal(keys_generate(&dev), 0);
    make(&c, dev);
    strcpy(c.serial, "with space");
    buf_init(&w, CERT_MAX);
    assert_int_equal(cert_issue(&c, ca, &w), MAMORI_ERR_INVAL);
    c.serial[0] = '\0';
    assert_int_equal(cert_issue(&c, ca, &w), MAMORI_ERR_INVAL);
    buf_free(&w);
    /* non-canonical: integer "v" with a 2-byte head inside tbs */
    {
        static const char *hex = "8258"
                                 "0c"
                                 "a2"
                                 "6176"
                                 "190001"
                                 "6161"
                                 "6161"
                                 "5840";
        size_t n;
        uint8_t *p = testutil_unhex(hex, &n);
        struct cert d;
        assert_int_not_equal(cert_decode(p, n, &d), 0);
        free(p);
    }
    keys_free(ca);
    keys_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_decode_verify),
        cmocka_unit_test(test_bad_fields_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
