/*
 * Vector tests for src/crypto/noise.c: every Noise_KK and Noise_XX
 * (25519/ChaChaPoly/BLAKE2b) vector of ../shared/testvectors/noise.json
 * (cacophony, noise-c-basic, snow): handshake messages byte for byte, the
 * handshake hash where the vector has one, and every transport message in
 * both directions (README message-order rule: message i is sent by the
 * initiator when i is even; the handshake messages come first).
 *
 * The Noise_IK vectors in the same file are skipped on purpose: the bus uses
 * only XX (enrolment) and KK (sessions), so IK is not implemented.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/noise.h"
#include "keys/keys.h"
#include "mamori/err.h"

static uint8_t *hexfield(json_t *v, const char *name, size_t *ret_n)
{
    json_t *f = json_object_get(v, name);
    if (f == NULL)
        return NULL;
    assert_true(json_is_string(f));
    return testutil_unhex(json_string_value(f), ret_n);
}

static struct keys *keys_of(json_t *v, const char *name)
{
    size_t n;
    struct keys *k;
    uint8_t *sk = hexfield(v, name, &n);
    assert_non_null(sk);
    assert_int_equal(n, KEYS_DH_LEN);
    assert_int_equal(keys_from_x25519(sk, &k), 0);
    free(sk);
    return k;
}

/* Run one vector end to end; returns 1 if it had a handshake hash checked. */
static int run_vector(json_t *v, enum noise_pattern pattern)
{
    size_t n, plen_i, plen_r, elen;
    struct keys *ks_i = keys_of(v, "init_static"), *ks_r = keys_of(v, "resp_static");
    uint8_t *pro_i = hexfield(v, "init_prologue", &plen_i);
    uint8_t *pro_r = hexfield(v, "resp_prologue", &plen_r);
    uint8_t *rs_i = hexfield(v, "init_remote_static", &n);
    uint8_t *rs_r = hexfield(v, "resp_remote_static", &n);
    struct noise_hs *hi, *hr;
    assert_non_null(pro_i);
    assert_non_null(pro_r);
    if (pattern == NOISE_KK) {
        assert_non_null(rs_i);
        assert_non_null(rs_r);
    }
    assert_int_equal(noise_hs_new(pattern, NOISE_INITIATOR, ks_i, rs_i, pro_i, plen_i, &hi), 0);
    assert_int_equal(noise_hs_new(pattern, NOISE_RESPONDER, ks_r, rs_r, pro_r, plen_r, &hr), 0);
    uint8_t *e = hexfield(v, "init_ephemeral", &elen);
    assert_int_equal(elen, NOISE_DHLEN);
    assert_int_equal(noise_hs_set_ephemeral(hi, e), 0);
    free(e);
    e = hexfield(v, "resp_ephemeral", &elen);
    assert_int_equal(elen, NOISE_DHLEN);
    assert_int_equal(noise_hs_set_ephemeral(hr, e), 0);
    free(e);

    json_t *msgs = json_object_get(v, "messages");
    size_t nhs = pattern == NOISE_XX ? 3 : 2;
    assert_true(json_array_size(msgs) > nhs);
    struct noise_cs *tx_i = NULL, *rx_i = NULL, *tx_r = NULL, *rx_r = NULL;
    static uint8_t out[NOISE_MAX_MSG], pt[NOISE_MAX_MSG];
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        size_t pl, cl, olen, ptlen;
        uint8_t *payload = hexfield(m, "payload", &pl);
        uint8_t *ct = hexfield(m, "ciphertext", &cl);
        bool from_init = i % 2 == 0;
        if (i < nhs) {
            struct noise_hs *snd = from_init ? hi : hr, *rcv = from_init ? hr : hi;
            assert_true(noise_hs_my_turn(snd));
            assert_false(noise_hs_my_turn(rcv));
            assert_int_equal(noise_hs_write(snd, payload, pl, out, sizeof(out), &olen), 0);
            assert_int_equal(olen, cl);
            assert_memory_equal(out, ct, cl);
            assert_int_equal(noise_hs_read(rcv, ct, cl, pt, sizeof(pt), &ptlen), 0);
            assert_int_equal(ptlen, pl);
            if (pl > 0)
                assert_memory_equal(pt, payload, pl);
            if (i + 1 == nhs) {
                assert_true(noise_hs_done(hi));
                assert_true(noise_hs_done(hr));
                assert_int_equal(noise_hs_split(hi, &tx_i, &rx_i), 0);
                assert_int_equal(noise_hs_split(hr, &tx_r, &rx_r), 0);
            }
        } else {
            struct noise_cs *tx = from_init ? tx_i : tx_r, *rx = from_init ? rx_r : rx_i;
            assert_int_equal(noise_cs_encrypt(tx, NULL, 0, payload, pl, out, sizeof(out), &olen), 0);
            assert_int_equal(olen, cl);
            assert_memory_equal(out, ct, cl);
            assert_int_equal(noise_cs_decrypt(rx, NULL, 0, ct, cl, pt, sizeof(pt), &ptlen), 0);
            assert_int_equal(ptlen, pl);
            if (pl > 0)
                assert_memory_equal(pt, payload, pl);
        }
        free(payload);
        free(ct);
    }

    /* Both sides learned/pinned the right static keys. */
    uint8_t got[NOISE_DHLEN], want[NOISE_DHLEN];
    assert_int_equal(noise_hs_remote_static(hi, got), 0);
    keys_dh_public(ks_r, want);
    assert_memory_equal(got, want, NOISE_DHLEN);
    assert_int_equal(noise_hs_remote_static(hr, got), 0);
    keys_dh_public(ks_i, want);
    assert_memory_equal(got, want, NOISE_DHLEN);

    int checked = 0;
    size_t hl;
    uint8_t *hh = hexfield(v, "handshake_hash", &hl);
    uint8_t h1[NOISE_HASHLEN], h2[NOISE_HASHLEN];
    assert_int_equal(noise_hs_hash(hi, h1), 0);
    assert_int_equal(noise_hs_hash(hr, h2), 0);
    assert_memory_equal(h1, h2, NOISE_HASHLEN);
    if (hh != NULL) {
        assert_int_equal(hl, NOISE_HASHLEN);
        assert_memory_equal(h1, hh, NOISE_HASHLEN);
        checked = 1;
        free(hh);
    }
    noise_cs_free(tx_i);
    noise_cs_free(rx_i);
    noise_cs_free(tx_r);
    noise_cs_free(rx_r);
    noise_hs_free(hi);
    noise_hs_free(hr);
    keys_free(ks_i);
    keys_free(ks_r);
    free(pro_i);
    free(pro_r);
    free(rs_i);
    free(rs_r);
    return checked;
}

static void run_all(const char *protocol, enum noise_pattern pattern, int want_vectors,
                    int want_hashes)
{
    json_t *root = testutil_load_json("noise.json");
    json_t *vs = json_object_get(root, "vectors");
    int ran = 0, hashes = 0;
    for (size_t i = 0; i < json_array_size(vs); i++) {
        json_t *v = json_array_get(vs, i);
        const char *name = json_string_value(json_object_get(v, "protocol_name"));
        assert_non_null(name);
        if (strcmp(name, protocol) != 0)
            continue; /* other patterns (IK is deliberately not implemented) */
        hashes += run_vector(v, pattern);
        ran++;
    }
    /* The file has three vectors per protocol, two with a handshake hash. */
    assert_int_equal(ran, want_vectors);
    assert_int_equal(hashes, want_hashes);
    json_decref(root);
}

static void test_pol4_noise_kk_vectors(void **state)
{
    (void)state;
    run_all("Noise_KK_25519_ChaChaPoly_BLAKE2b", NOISE_KK, 3, 2);
}

static void test_pol4_noise_xx_vectors(void **state)
{
    (void)state;
    run_all("Noise_XX_25519_ChaChaPoly_BLAKE2b", NOISE_XX, 3, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol4_noise_kk_vectors),
        cmocka_unit_test(test_pol4_noise_xx_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
