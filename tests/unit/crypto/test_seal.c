/* Unit tests for src/crypto/seal.c: forward-secure sealing (POL-7, PRE-1, THR-6). */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "mamori/err.h"

static void msg_of(uint64_t i, uint8_t m[16])
{
    memset(m, 0, 16);
    memcpy(m, "entry-", 6);
    for (int k = 0; k < 8; k++)
        m[8 + k] = (uint8_t)(i >> (8 * k));
}

static void test_pol7_seal_chain_verifies_from_key0(void **state)
{
    uint8_t key0[SEAL_KEY_LEN], macs[50][SEAL_MAC_LEN], m[16];
    struct seal *s;
    struct seal_verifier *v;
    uint64_t e;
    (void)state;
    assert_int_equal(seal_create(NULL, key0, &s), 0);
    for (uint64_t i = 0; i < 50; i++) {
        msg_of(i, m);
        assert_int_equal(seal_entry(s, m, sizeof(m), macs[i], &e), 0);
        assert_int_equal(e, i);
    }
    assert_int_equal(seal_epoch(s), 50);
    assert_int_equal(seal_verifier_new(key0, &v), 0);
    for (uint64_t i = 0; i < 50; i++) {
        msg_of(i, m);
        assert_int_equal(seal_verifier_check(v, i, m, sizeof(m), macs[i]), 0);
    }
    /* hostile: a changed message, or a MAC presented for a different epoch, fails */
    seal_verifier_free(v);
    assert_int_equal(seal_verifier_new(key0, &v), 0);
    msg_of(3, m);
    m[0] ^= 1;
    assert_int_equal(seal_verifier_check(v, 3, m, sizeof(m), macs[3]), MAMORI_ERR_AUTH);
    msg_of(4, m);
    assert_int_equal(seal_verifier_check(v, 5, m, sizeof(m), macs[4]), MAMORI_ERR_AUTH);
    /* the verifier only moves forward */
    assert_int_equal(seal_verifier_check(v, 4, m, sizeof(m), macs[4]), MAMORI_ERR_STATE);
    seal_verifier_free(v);
    seal_verifier_free(NULL);
    seal_free(s);
    seal_free(NULL);
}

/* CVE-2023-31439 class: an intruder who takes the key at a later epoch re-seals
 * an old entry with it; the verifier derives the entry's own epoch key and
 * rejects the MAC. */
static void test_thr6_seal_old_entry_resealed_with_later_key_rejected(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200];
    uint8_t key0[SEAL_KEY_LEN], mac5[SEAL_MAC_LEN], forged[SEAL_MAC_LEN], m[16], stolen[SEAL_KEY_LEN];
    struct seal *s, *attacker;
    struct seal_verifier *v;
    uint64_t e;
    (void)state;
    snprintf(path, sizeof(path), "%s/seal", dir);
    assert_int_equal(seal_create(path, key0, &s), 0);
    for (uint64_t i = 0; i < 10; i++) {
        msg_of(i, m);
        assert_int_equal(seal_entry(s, m, sizeof(m), i == 5 ? mac5 : forged, &e), 0);
    }
    assert_int_equal(seal_persist(s), 0);
    /* the intruder reads the state file: key_10 */
    assert_int_equal(seal_read_state(path, &e, stolen), 0);
    assert_int_equal(e, 10);
    assert_int_equal(seal_from_key(stolen, &attacker), 0);
    msg_of(5, m);
    m[1] ^= 0x40; /* the edit */
    assert_int_equal(seal_tag(attacker, m, sizeof(m), forged), 0);
    assert_int_equal(seal_verifier_new(key0, &v), 0);
    assert_int_equal(seal_verifier_check(v, 5, m, sizeof(m), forged), MAMORI_ERR_AUTH);
    /* and the genuine entry still verifies at its own epoch */
    msg_of(5, m);
    assert_int_equal(seal_verifier_check(v, 5, m, sizeof(m), mac5), 0);
    /* the verifier cannot be walked back to accept an earlier epoch either */
    assert_int_equal(seal_verifier_check(v, 4, m, sizeof(m), mac5), MAMORI_ERR_STATE);
    seal_verifier_free(v);
    seal_free(attacker);
    seal_free(s);
    testutil_rmtree(dir);
    free(dir);
}

/* The documented evolution, recomputed here independently of seal.c. */
static void doc_evolve(uint8_t k[SEAL_KEY_LEN])
{
    uint8_t in[18 + SEAL_KEY_LEN];
    memcpy(in, "mamori-seal-evolve", 18);
    memcpy(in + 18, k, SEAL_KEY_LEN);
    crypto_generichash(k, SEAL_KEY_LEN, in, sizeof(in), NULL, 0);
}

/* PRE-1: after persisting, no earlier key is left in the state file, and the
 * file's key is exactly key_epoch as derived from key_0 by the documented rule. */
static void test_pre1_seal_old_keys_gone_from_state_file(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200];
    uint8_t key0[SEAL_KEY_LEN], k[SEAL_KEY_LEN], ki[SEAL_KEY_LEN], mac[SEAL_MAC_LEN], m[16], file[2048];
    struct seal *s, *other;
    struct seal_verifier *v;
    struct stat st;
    uint64_t e;
    (void)state;
    snprintf(path, sizeof(path), "%s/seal", dir);
    assert_int_equal(seal_create(path, key0, &s), 0);
    assert_int_equal(seal_create(path, k, &other), MAMORI_ERR_EXISTS);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    for (uint64_t i = 0; i < 7; i++) {
        msg_of(i, m);
        assert_int_equal(seal_entry(s, m, sizeof(m), mac, &e), 0);
        assert_int_equal(seal_persist(s), 0);
    }
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(file, 1, sizeof(file), f);
    fclose(f);
    assert_true(n > 64);
    memcpy(ki, key0, sizeof(ki));
    for (uint64_t i = 0; i < 7; i++) {
        if (memmem(file, n, ki, SEAL_KEY_LEN) != NULL)
            fail_msg("key_%llu still in the state file", (unsigned long long)i);
        doc_evolve(ki);
    }
    assert_non_null(memmem(file, n, ki, SEAL_KEY_LEN)); /* key_7 is the current one */
    assert_int_equal(seal_read_state(path, &e, k), 0);
    assert_int_equal(e, 7);
    assert_memory_equal(k, ki, SEAL_KEY_LEN);
    assert_int_equal(seal_verifier_new(key0, &v), 0);
    assert_int_equal(seal_verifier_key_is(v, 7, k), 0);
    k[0] ^= 1;
    assert_int_equal(seal_verifier_key_is(v, 7, k), MAMORI_ERR_AUTH);
    seal_verifier_free(v);
    seal_free(s);
    testutil_rmtree(dir);
    free(dir);
}

static void test_pol7_seal_state_survives_torn_slot(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200];
    uint8_t key0[SEAL_KEY_LEN], mac[SEAL_MAC_LEN], k[SEAL_KEY_LEN];
    struct seal *s, *s2;
    uint64_t e;
    (void)state;
    snprintf(path, sizeof(path), "%s/seal", dir);
    assert_int_equal(seal_create(path, key0, &s), 0);
    assert_int_equal(seal_entry(s, (const uint8_t *)"a", 1, mac, &e), 0);
    assert_int_equal(seal_persist(s), 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXX", 4, 20), 4); /* tear slot 0 */
    close(fd);
    assert_int_equal(seal_open(path, &s2), 0);
    assert_int_equal(seal_epoch(s2), 1);
    seal_free(s2);
    fd = open(path, O_RDWR);
    assert_int_equal(pwrite(fd, "XXXX", 4, 512 + 20), 4); /* and slot 1 */
    close(fd);
    assert_int_equal(seal_open(path, &s2), MAMORI_ERR_INVAL);
    assert_int_equal(seal_read_state("/nonexistent/x", &e, k), MAMORI_ERR_NOTFOUND);
    seal_free(s);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol7_seal_chain_verifies_from_key0),
        cmocka_unit_test(test_thr6_seal_old_entry_resealed_with_later_key_rejected),
        cmocka_unit_test(test_pre1_seal_old_keys_gone_from_state_file),
        cmocka_unit_test(test_pol7_seal_state_survives_torn_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
