/*
 * Unit tests for src/crypto/noise.c: the handshake and transport as an
 * attacker sees them (POL-4: knowing the protocol must not let anyone in).
 * Every case here is hostile: flipped bits, wrong keys, replays, truncation,
 * nonce exhaustion, out-of-turn calls. The happy path is proven by the
 * public vectors (tests/vectors/test_noise.c).
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/noise.h"
#include "keys/keys.h"
#include "mamori/err.h"

static const uint8_t prologue[] = "mamori-bus-v1 unix";

struct peers {
    struct keys *ki, *kr;
    uint8_t pi[NOISE_DHLEN], pr[NOISE_DHLEN];
};

static void peers_init(struct peers *p)
{
    assert_int_equal(keys_generate(&p->ki), 0);
    assert_int_equal(keys_generate(&p->kr), 0);
    keys_dh_public(p->ki, p->pi);
    keys_dh_public(p->kr, p->pr);
}

static void peers_free(struct peers *p)
{
    keys_free(p->ki);
    keys_free(p->kr);
}

static void hs_pair(struct peers *p, enum noise_pattern pat, struct noise_hs **hi,
                    struct noise_hs **hr)
{
    assert_int_equal(noise_hs_new(pat, NOISE_INITIATOR, p->ki, pat == NOISE_KK ? p->pr : NULL,
                                  prologue, sizeof(prologue), hi),
                     0);
    assert_int_equal(noise_hs_new(pat, NOISE_RESPONDER, p->kr, pat == NOISE_KK ? p->pi : NULL,
                                  prologue, sizeof(prologue), hr),
                     0);
}

static int nmsgs(enum noise_pattern pat)
{
    return pat == NOISE_XX ? 3 : 2;
}

/*
 * Run a handshake; before message `tamper_at` is delivered, tamper(msg,&len).
 * Returns 0 if the handshake completed on both sides, else the first error
 * from a read. Always leaves both states freed.
 */
typedef void (*tamper_fn)(uint8_t *m, size_t *len, size_t arg);

static int run_hs(struct peers *p, enum noise_pattern pat, int tamper_at, tamper_fn tamper,
                  size_t arg, struct noise_cs **ret_cs)
{
    struct noise_hs *hi, *hr;
    uint8_t msg[NOISE_MAX_MSG], pl[NOISE_MAX_MSG];
    size_t len, plen;
    int r = 0;
    hs_pair(p, pat, &hi, &hr);
    for (int i = 0; i < nmsgs(pat); i++) {
        struct noise_hs *snd = i % 2 == 0 ? hi : hr, *rcv = i % 2 == 0 ? hr : hi;
        r = noise_hs_write(snd, (const uint8_t *)"payload", 7, msg, sizeof(msg), &len);
        if (r != 0)
            break;
        if (i == tamper_at)
            tamper(msg, &len, arg);
        r = noise_hs_read(rcv, msg, len, pl, sizeof(pl), &plen);
        if (r != 0)
            break;
        /* XX message 0 is not encrypted yet, so a tampered payload arrives
         * as is; the transcript hash makes the next message fail instead. */
        if (i != tamper_at) {
            assert_int_equal(plen, 7);
            assert_memory_equal(pl, "payload", 7);
        }
    }
    if (r == 0) {
        assert_true(noise_hs_done(hi));
        assert_true(noise_hs_done(hr));
        if (ret_cs != NULL) {
            assert_int_equal(noise_hs_split(hi, &ret_cs[0], &ret_cs[1]), 0);
            assert_int_equal(noise_hs_split(hr, &ret_cs[2], &ret_cs[3]), 0);
        }
    } else {
        /* A failed handshake never reports done and refuses everything after. */
        assert_false(noise_hs_done(hi) && noise_hs_done(hr));
        struct noise_cs *a, *b;
        int refused = 0;
        for (int side = 0; side < 2; side++) {
            if (noise_hs_split(side ? hr : hi, &a, &b) != 0) {
                refused++;
            } else { /* the side that finished first may split; the other may not */
                noise_cs_free(a);
                noise_cs_free(b);
            }
        }
        assert_true(refused >= 1);
    }
    noise_hs_free(hi);
    noise_hs_free(hr);
    return r;
}

static void flip_bit(uint8_t *m, size_t *len, size_t bit)
{
    assert_true(bit / 8 < *len);
    m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static void truncate_to(uint8_t *m, size_t *len, size_t n)
{
    (void)m;
    assert_true(n < *len);
    *len = n;
}

static void append_byte(uint8_t *m, size_t *len, size_t v)
{
    m[(*len)++] = (uint8_t)v;
}

/* Length of handshake message i with a 7-byte payload. */
static size_t msg_len(enum noise_pattern pat, int i)
{
    if (pat == NOISE_KK)
        return 32 + 7 + 16;
    static const size_t xx[3] = {32 + 7, 32 + 48 + 7 + 16, 48 + 7 + 16};
    return xx[i];
}

static void flip_every_bit(enum noise_pattern pat)
{
    struct peers p;
    peers_init(&p);
    assert_int_equal(run_hs(&p, pat, -1, NULL, 0, NULL), 0); /* baseline completes */
    for (int i = 0; i < nmsgs(pat); i++) {
        size_t bits = msg_len(pat, i) * 8;
        /* Every byte, rotating which bit, plus the top bit of every key byte 31
         * (X25519 ignores it, so only the transcript hash catches it). */
        for (size_t byte = 0; byte < bits / 8; byte++) {
            size_t bit = byte * 8 + (byte % 8);
            assert_int_not_equal(run_hs(&p, pat, i, flip_bit, bit, NULL), 0);
        }
        assert_int_not_equal(run_hs(&p, pat, i, flip_bit, 31 * 8 + 7, NULL), 0);
    }
    peers_free(&p);
}

static void test_pol4_flipped_bit_in_any_kk_message_fails(void **state)
{
    (void)state;
    flip_every_bit(NOISE_KK);
}

static void test_pol4_flipped_bit_in_any_xx_message_fails(void **state)
{
    (void)state;
    flip_every_bit(NOISE_XX);
}

static void test_pol4_truncated_or_extended_handshake_fails(void **state)
{
    (void)state;
    struct peers p;
    peers_init(&p);
    for (int pat = NOISE_XX; pat <= NOISE_KK; pat++) {
        for (int i = 0; i < nmsgs(pat); i++) {
            for (size_t n = 0; n < msg_len(pat, i); n++)
                assert_int_not_equal(run_hs(&p, pat, i, truncate_to, n, NULL), 0);
            assert_int_not_equal(run_hs(&p, pat, i, append_byte, 0x00, NULL), 0);
        }
    }
    peers_free(&p);
}

static void test_pol4_kk_wrong_remote_static_fails(void **state)
{
    (void)state;
    struct peers p;
    struct keys *other;
    uint8_t po[NOISE_DHLEN], msg[256], pl[256];
    size_t len, plen;
    struct noise_hs *hi, *hr;
    peers_init(&p);
    assert_int_equal(keys_generate(&other), 0);
    keys_dh_public(other, po);

    /* Initiator pins a different responder key: the responder cannot read. */
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_INITIATOR, p.ki, po, NULL, 0, &hi), 0);
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_RESPONDER, p.kr, p.pi, NULL, 0, &hr), 0);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), 0);
    assert_int_equal(noise_hs_read(hr, msg, len, pl, sizeof(pl), &plen), MAMORI_ERR_AUTH);
    assert_int_equal(noise_hs_read(hr, msg, len, pl, sizeof(pl), &plen), MAMORI_ERR_STATE);
    noise_hs_free(hi);
    noise_hs_free(hr);

    /* A rogue initiator (its own keys, the published protocol, the right
     * responder key) is refused by a responder that pinned someone else. */
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_INITIATOR, other, p.pr, NULL, 0, &hi), 0);
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_RESPONDER, p.kr, p.pi, NULL, 0, &hr), 0);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), 0);
    assert_int_equal(noise_hs_read(hr, msg, len, pl, sizeof(pl), &plen), MAMORI_ERR_AUTH);
    noise_hs_free(hi);
    noise_hs_free(hr);

    /* Different prologues (e.g. protocol version) do not interoperate. */
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_INITIATOR, p.ki, p.pr, (const uint8_t *)"v1", 2, &hi), 0);
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_RESPONDER, p.kr, p.pi, (const uint8_t *)"v2", 2, &hr), 0);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), 0);
    assert_int_equal(noise_hs_read(hr, msg, len, pl, sizeof(pl), &plen), MAMORI_ERR_AUTH);
    noise_hs_free(hi);
    noise_hs_free(hr);
    keys_free(other);
    peers_free(&p);
}

static void test_pol4_xx_learns_peer_static(void **state)
{
    (void)state;
    struct peers p;
    struct noise_hs *hi, *hr;
    uint8_t msg[256], pl[256], got[NOISE_DHLEN], h1[NOISE_HASHLEN], h2[NOISE_HASHLEN];
    size_t len, plen;
    peers_init(&p);
    hs_pair(&p, NOISE_XX, &hi, &hr);
    assert_int_equal(noise_hs_remote_static(hr, got), MAMORI_ERR_STATE); /* not yet known */
    assert_int_equal(noise_hs_hash(hi, h1), MAMORI_ERR_STATE);             /* not done */
    for (int i = 0; i < 3; i++) {
        struct noise_hs *s = i % 2 == 0 ? hi : hr, *r = i % 2 == 0 ? hr : hi;
        assert_int_equal(noise_hs_write(s, NULL, 0, msg, sizeof(msg), &len), 0);
        assert_int_equal(noise_hs_read(r, msg, len, pl, sizeof(pl), &plen), 0);
        assert_int_equal(plen, 0);
    }
    assert_int_equal(noise_hs_remote_static(hr, got), 0);
    assert_memory_equal(got, p.pi, NOISE_DHLEN);
    assert_int_equal(noise_hs_remote_static(hi, got), 0);
    assert_memory_equal(got, p.pr, NOISE_DHLEN);
    assert_int_equal(noise_hs_hash(hi, h1), 0);
    assert_int_equal(noise_hs_hash(hr, h2), 0);
    assert_memory_equal(h1, h2, NOISE_HASHLEN);
    noise_hs_free(hi);
    noise_hs_free(hr);
    peers_free(&p);
}

static void test_pol4_write_out_of_turn_fails(void **state)
{
    (void)state;
    struct peers p;
    struct noise_hs *hi, *hr;
    uint8_t msg[256], pl[256];
    size_t len, plen;
    peers_init(&p);
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_false(noise_hs_my_turn(hr));
    /* The responder may not speak first; the state is dead afterwards. */
    assert_int_equal(noise_hs_write(hr, NULL, 0, msg, sizeof(msg), &len), MAMORI_ERR_STATE);
    assert_false(noise_hs_my_turn(hr));
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), 0);
    assert_int_equal(noise_hs_read(hr, msg, len, pl, sizeof(pl), &plen), MAMORI_ERR_STATE);
    /* The initiator may not read before it wrote, nor write twice in a row. */
    noise_hs_free(hi);
    noise_hs_free(hr);
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_int_equal(noise_hs_read(hi, msg, len, pl, sizeof(pl), &plen), MAMORI_ERR_STATE);
    noise_hs_free(hi);
    noise_hs_free(hr);
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), 0);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), MAMORI_ERR_STATE);
    /* Split before done is refused. */
    struct noise_cs *a, *b;
    assert_int_equal(noise_hs_split(hr, &a, &b), MAMORI_ERR_STATE);
    noise_hs_free(hi);
    noise_hs_free(hr);
    noise_hs_free(NULL);
    peers_free(&p);
}

static void test_pol4_low_order_ephemeral_refused(void **state)
{
    (void)state;
    struct peers p;
    struct noise_hs *hi, *hr;
    uint8_t msg[256], pl[256];
    size_t len, plen;
    peers_init(&p);
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, sizeof(msg), &len), 0);
    memset(msg, 0, 32); /* the all-zero point: DH output would be zero */
    assert_int_not_equal(noise_hs_read(hr, msg, len, pl, sizeof(pl), &plen), 0);
    noise_hs_free(hi);
    noise_hs_free(hr);
    peers_free(&p);
}

static void test_pol4_handshake_limits(void **state)
{
    (void)state;
    struct peers p;
    struct noise_hs *hi, *hr;
    static uint8_t big[NOISE_MAX_MSG + 1];
    uint8_t msg[64], pl[4];
    size_t len, plen;
    peers_init(&p);
    /* Bad arguments. */
    assert_int_equal(noise_hs_new(NOISE_KK, NOISE_INITIATOR, p.ki, NULL, NULL, 0, &hi), MAMORI_ERR_INVAL);
    assert_int_equal(noise_hs_new(NOISE_XX, NOISE_INITIATOR, p.ki, p.pr, NULL, 0, &hi), MAMORI_ERR_INVAL);
    assert_int_equal(noise_hs_new(NOISE_XX, NOISE_INITIATOR, NULL, NULL, NULL, 0, &hi), MAMORI_ERR_INVAL);
    /* Output buffer too small: refused, nothing half-written counts. */
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_int_equal(noise_hs_write(hi, NULL, 0, msg, 40, &len), MAMORI_ERR_TOOBIG);
    noise_hs_free(hi);
    noise_hs_free(hr);
    /* An oversized message is refused before any parsing. */
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_int_equal(noise_hs_read(hr, big, sizeof(big), NULL, 0, &plen), MAMORI_ERR_TOOBIG);
    noise_hs_free(hi);
    noise_hs_free(hr);
    /* A payload larger than the caller's buffer is refused. */
    hs_pair(&p, NOISE_KK, &hi, &hr);
    assert_int_equal(noise_hs_write(hi, (const uint8_t *)"0123456789", 10, big, sizeof(big), &len), 0);
    assert_int_equal(noise_hs_read(hr, big, len, pl, sizeof(pl), &plen), MAMORI_ERR_TOOBIG);
    noise_hs_free(hi);
    noise_hs_free(hr);
    peers_free(&p);
}

static void transport_pair(struct peers *p, struct noise_cs *cs[4])
{
    assert_int_equal(run_hs(p, NOISE_KK, -1, NULL, 0, cs), 0);
    /* cs: 0 = initiator tx, 1 = initiator rx, 2 = responder tx, 3 = responder rx */
}

static void cs_free4(struct noise_cs *cs[4])
{
    for (int i = 0; i < 4; i++)
        noise_cs_free(cs[i]);
}

static void test_pol4_replayed_transport_message_fails(void **state)
{
    (void)state;
    struct peers p;
    struct noise_cs *cs[4];
    uint8_t ct[64], pt[64];
    size_t clen, plen;
    peers_init(&p);
    transport_pair(&p, cs);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"open drawer", 11, ct, sizeof(ct), &clen), 0);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, ct, clen, pt, sizeof(pt), &plen), 0);
    assert_memory_equal(pt, "open drawer", 11);
    /* The same ciphertext again: the receiver's nonce moved on. */
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, ct, clen, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    /* A message reflected back to its sender does not decrypt either. */
    assert_int_equal(noise_cs_decrypt(cs[1], NULL, 0, ct, clen, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    /* The failure did not advance the nonce: the next real message is fine. */
    assert_int_equal(noise_cs_nonce(cs[3]), 1);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"x", 1, ct, sizeof(ct), &clen), 0);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, ct, clen, pt, sizeof(pt), &plen), 0);
    cs_free4(cs);
    peers_free(&p);
}

static void test_pol4_tampered_or_truncated_transport_fails(void **state)
{
    (void)state;
    struct peers p;
    struct noise_cs *cs[4];
    uint8_t ct[64], bad[64], pt[64];
    size_t clen, plen;
    peers_init(&p);
    transport_pair(&p, cs);
    assert_int_equal(noise_cs_encrypt(cs[2], (const uint8_t *)"hdr", 3, (const uint8_t *)"4901234567894", 13, ct, sizeof(ct), &clen), 0);
    for (size_t i = 0; i < clen * 8; i++) {
        memcpy(bad, ct, clen);
        bad[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(noise_cs_decrypt(cs[1], (const uint8_t *)"hdr", 3, bad, clen, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    }
    for (size_t n = 0; n < clen; n++)
        assert_int_equal(noise_cs_decrypt(cs[1], (const uint8_t *)"hdr", 3, ct, n, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    /* Wrong associated data. */
    assert_int_equal(noise_cs_decrypt(cs[1], (const uint8_t *)"hdx", 3, ct, clen, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    assert_int_equal(noise_cs_nonce(cs[1]), 0);
    assert_int_equal(noise_cs_decrypt(cs[1], (const uint8_t *)"hdr", 3, ct, clen, pt, sizeof(pt), &plen), 0);
    assert_int_equal(plen, 13);
    cs_free4(cs);
    peers_free(&p);
}

static void test_pol4_rekey_changes_key_and_stays_in_sync(void **state)
{
    (void)state;
    struct peers p;
    struct noise_cs *cs[4];
    uint8_t c1[64], c2[64], pt[64];
    size_t l1, l2, plen;
    peers_init(&p);
    transport_pair(&p, cs);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"abc", 3, c1, sizeof(c1), &l1), 0);
        assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, c1, l1, pt, sizeof(pt), &plen), 0);
    }
    assert_int_equal(noise_cs_since_rekey(cs[0]), 3);
    /* Same nonce, same plaintext, before and after rekey: different bytes. */
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"abc", 3, c1, sizeof(c1), &l1), 0);
    noise_cs_set_nonce(cs[0], 3);
    assert_int_equal(noise_cs_rekey(cs[0]), 0);
    assert_int_equal(noise_cs_nonce(cs[0]), 3); /* Rekey keeps n (spec §11.3) */
    assert_int_equal(noise_cs_since_rekey(cs[0]), 0);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"abc", 3, c2, sizeof(c2), &l2), 0);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(c1, c2, l1);
    /* The receiver that has not rekeyed cannot read the new key's message ... */
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, c2, l2, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    /* ... and after its own rekey it can, and the old-key message no longer. */
    assert_int_equal(noise_cs_rekey(cs[3]), 0);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, c1, l1, pt, sizeof(pt), &plen), MAMORI_ERR_AUTH);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, c2, l2, pt, sizeof(pt), &plen), 0);
    assert_memory_equal(pt, "abc", 3);
    /* The other direction is unaffected, and rekeys in step too. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(noise_cs_rekey(cs[2]), 0);
        assert_int_equal(noise_cs_rekey(cs[1]), 0);
        assert_int_equal(noise_cs_encrypt(cs[2], NULL, 0, (const uint8_t *)"xyz", 3, c1, sizeof(c1), &l1), 0);
        assert_int_equal(noise_cs_decrypt(cs[1], NULL, 0, c1, l1, pt, sizeof(pt), &plen), 0);
        assert_memory_equal(pt, "xyz", 3);
    }
    cs_free4(cs);
    peers_free(&p);
}

static void test_pol4_nonce_exhaustion_refused(void **state)
{
    (void)state;
    struct peers p;
    struct noise_cs *cs[4];
    uint8_t ct[64], pt[64];
    size_t clen, plen;
    peers_init(&p);
    transport_pair(&p, cs);
    noise_cs_set_nonce(cs[0], UINT64_MAX - 1);
    noise_cs_set_nonce(cs[3], UINT64_MAX - 1);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"last", 4, ct, sizeof(ct), &clen), 0);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, ct, clen, pt, sizeof(pt), &plen), 0);
    /* 2^64-1 is reserved: neither side uses it. */
    assert_int_equal(noise_cs_nonce(cs[0]), UINT64_MAX);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, (const uint8_t *)"more", 4, ct, sizeof(ct), &clen), MAMORI_ERR_LIMIT);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, ct, clen, pt, sizeof(pt), &plen), MAMORI_ERR_LIMIT);
    cs_free4(cs);
    peers_free(&p);
}

static void test_pol4_transport_limits(void **state)
{
    (void)state;
    struct peers p;
    struct noise_cs *cs[4];
    static uint8_t big[NOISE_MAX_MSG + 1];
    uint8_t small[8];
    size_t n;
    peers_init(&p);
    transport_pair(&p, cs);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, big, NOISE_MAX_PAYLOAD + 1, big, sizeof(big), &n), MAMORI_ERR_TOOBIG);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, big, 8, small, sizeof(small), &n), MAMORI_ERR_TOOBIG);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, big, sizeof(big), big, sizeof(big), &n), MAMORI_ERR_TOOBIG);
    assert_int_equal(noise_cs_nonce(cs[0]), 0);
    /* In-place encryption and decryption work. */
    memcpy(big, "inplace", 7);
    assert_int_equal(noise_cs_encrypt(cs[0], NULL, 0, big, 7, big, sizeof(big), &n), 0);
    assert_int_equal(noise_cs_decrypt(cs[3], NULL, 0, big, n, big, sizeof(big), &n), 0);
    assert_memory_equal(big, "inplace", 7);
    cs_free4(cs);
    noise_cs_free(NULL);
    peers_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol4_flipped_bit_in_any_kk_message_fails),
        cmocka_unit_test(test_pol4_flipped_bit_in_any_xx_message_fails),
        cmocka_unit_test(test_pol4_truncated_or_extended_handshake_fails),
        cmocka_unit_test(test_pol4_kk_wrong_remote_static_fails),
        cmocka_unit_test(test_pol4_xx_learns_peer_static),
        cmocka_unit_test(test_pol4_write_out_of_turn_fails),
        cmocka_unit_test(test_pol4_low_order_ephemeral_refused),
        cmocka_unit_test(test_pol4_handshake_limits),
        cmocka_unit_test(test_pol4_replayed_transport_message_fails),
        cmocka_unit_test(test_pol4_tampered_or_truncated_transport_fails),
        cmocka_unit_test(test_pol4_rekey_changes_key_and_stays_in_sync),
        cmocka_unit_test(test_pol4_nonce_exhaustion_refused),
        cmocka_unit_test(test_pol4_transport_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
