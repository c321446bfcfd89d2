/* Unit tests for src/guard/manifest.c (POL-5, LC-5): parse, sign, verify, diff, hash set. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard/manifest.h"
#include "keys/keys.h"
#include "mamori/err.h"

static int sign_cb(void *ctx, uint8_t ret_sig[static MANIFEST_SIG_LEN], const uint8_t *msg, size_t n)
{
    return keys_sign(ctx, ret_sig, msg, n);
}

static void sha_of(uint8_t out[32], int seed)
{
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(seed * 31 + i * 7);
}

/* A sealed manifest with n entries /bin/pN and its signed text in *ret_text. */
static struct manifest *make(struct keys *k, int n, struct buf *ret_text)
{
    struct manifest *m;
    uint8_t sha[32], pub[32];
    char path[64];
    struct buf body;
    assert_int_equal(manifest_new(&m), 0);
    for (int i = n - 1; i >= 0; i--) { /* added out of order: seal sorts */
        sha_of(sha, i);
        snprintf(path, sizeof(path), "/bin/p%03d", i);
        assert_int_equal(manifest_add(m, sha, (uint64_t)(100 + i), path), 0);
    }
    assert_int_equal(manifest_seal(m), 0);
    buf_init(&body, MANIFEST_MAX_BYTES);
    assert_int_equal(manifest_write(m, &body), 0);
    keys_sign_public(k, pub);
    buf_init(ret_text, MANIFEST_MAX_BYTES);
    assert_int_equal(manifest_sign(body.d, body.len, pub, sign_cb, k, ret_text), 0);
    buf_free(&body);
    return m;
}

static void test_lc5_sign_then_verify_roundtrip(void **state)
{
    struct keys *k;
    struct buf text;
    struct manifest *m, *p;
    uint8_t pub[32], sha[32];
    assert_int_equal(keys_generate(&k), 0);
    keys_sign_public(k, pub);
    m = make(k, 50, &text);
    assert_int_equal(manifest_parse_verified(text.d, text.len, pub, &p), 0);
    assert_int_equal(manifest_count(p), 50);
    assert_true(manifest_is_signed(p));
    assert_string_equal(manifest_at(p, 0)->path, "/bin/p000");
    const struct manifest_entry *e = manifest_find_path(p, "/bin/p017");
    assert_non_null(e);
    assert_int_equal(e->size, 117);
    assert_null(manifest_find_path(p, "/bin/p999"));
    sha_of(sha, 17);
    assert_true(manifest_has_hash(p, sha));
    sha[31] ^= 1;
    assert_false(manifest_has_hash(p, sha));
    /* re-signing a signed manifest is refused */
    struct buf again;
    buf_init(&again, MANIFEST_MAX_BYTES);
    assert_int_equal(manifest_sign(text.d, text.len, pub, sign_cb, k, &again), MAMORI_ERR_STATE);
    buf_free(&again);
    manifest_free(p);
    manifest_free(m);
    buf_free(&text);
    keys_free(k);
}

static void test_pol5_tampered_or_unsigned_manifest_refused(void **state)
{
    struct keys *k, *other;
    struct buf text;
    struct manifest *m, *p = NULL;
    uint8_t pub[32], opub[32];
    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(keys_generate(&other), 0);
    keys_sign_public(k, pub);
    keys_sign_public(other, opub);
    m = make(k, 5, &text);
    /* wrong key */
    assert_int_equal(manifest_parse_verified(text.d, text.len, opub, &p), MAMORI_ERR_AUTH);
    /* each flipped hex digit of an entry line: still parses, never verifies */
    for (size_t i = strlen(MANIFEST_MAGIC) + 1; i < strlen(MANIFEST_MAGIC) + 1 + 64; i++) {
        uint8_t saved = text.d[i];
        text.d[i] = saved == '0' ? '1' : '0';
        assert_int_equal(manifest_parse_verified(text.d, text.len, pub, &p), MAMORI_ERR_AUTH);
        text.d[i] = saved;
    }
    /* unsigned: parses, is not signed, never verifies */
    const uint8_t *sigline = (const uint8_t *)strstr((const char *)text.d, "ed25519 ");
    assert_non_null(sigline);
    size_t body = (size_t)(sigline - text.d);
    assert_int_equal(manifest_parse(text.d, body, &p), 0);
    assert_false(manifest_is_signed(p));
    manifest_free(p);
    assert_int_equal(manifest_parse_verified(text.d, body, pub, &p), MAMORI_ERR_AUTH);
    /* an entry appended after the signature */
    struct buf ext;
    buf_init(&ext, MANIFEST_MAX_BYTES);
    assert_int_equal(buf_put_bytes(&ext, text.d, text.len), 0);
    const char *more = "0000000000000000000000000000000000000000000000000000000000000000 1 /zz\n";
    assert_int_equal(buf_put_bytes(&ext, more, strlen(more)), 0);
    assert_int_equal(manifest_parse_verified(ext.d, ext.len, pub, &p), MAMORI_ERR_INVAL);
    buf_free(&ext);
    /* signature line naming another key but valid for ours: refused (pub mismatch) */
    manifest_free(m);
    buf_free(&text);
    keys_free(k);
    keys_free(other);
}

static void test_hostile_manifest_text_rejected(void **state)
{
    static const char *bad[] = {
        "",
        "mamori-manifest v1",  /* no newline */
        "mamori-manifest v2\n",
        "mamori-manifest v1\nzz\n",
        /* relative path */
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 1 bin/x\n",
        /* bad hex */
        "mamori-manifest v1\n000000000000000000000000000000000000000000000000000000000000000g 1 /x\n",
        /* uppercase hex (not canonical) */
        "mamori-manifest v1\n000000000000000000000000000000000000000000000000000000000000000A 1 /x\n",
        /* leading zero size, missing size, overflowing size */
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 01 /x\n",
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000  /x\n",
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 99999999999999999999 /x\n",
        /* unsorted, duplicate */
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 1 /b\n"
        "0000000000000000000000000000000000000000000000000000000000000000 1 /a\n",
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 1 /a\n"
        "0000000000000000000000000000000000000000000000000000000000000000 1 /a\n",
        /* CR in path, truncated last line */
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 1 /a\r\n",
        "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 1 /a",
        /* short signature line */
        "mamori-manifest v1\ned25519 00\n",
    };
    struct manifest *m = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(manifest_parse((const uint8_t *)bad[i], strlen(bad[i]), &m), 0);
    assert_null(m);
    /* an embedded NUL in a path */
    const char nul[] = "mamori-manifest v1\n0000000000000000000000000000000000000000000000000000000000000000 1 /a\0b\n";
    assert_int_equal(manifest_parse((const uint8_t *)nul, sizeof(nul) - 1, &m), MAMORI_ERR_INVAL);
    /* path limit */
    size_t plen = MANIFEST_MAX_PATH + 1;
    char *longp = malloc(plen + 1);
    memset(longp, 'a', plen);
    longp[0] = '/';
    longp[plen] = '\0';
    uint8_t sha[32] = {0};
    assert_int_equal(manifest_new(&m), 0);
    assert_int_equal(manifest_add(m, sha, 1, longp), MAMORI_ERR_TOOBIG);
    longp[MANIFEST_MAX_PATH] = '\0';
    assert_int_equal(manifest_add(m, sha, 1, longp), 0);
    assert_int_equal(manifest_add(m, sha, 1, "relative"), MAMORI_ERR_INVAL);
    assert_int_equal(manifest_add(m, sha, 1, "/a"), 0);
    assert_int_equal(manifest_add(m, sha, 1, "/a"), 0);
    assert_int_equal(manifest_seal(m), MAMORI_ERR_EXISTS);
    manifest_free(m);
    free(longp);
    /* empty but valid */
    assert_int_equal(manifest_parse((const uint8_t *)"mamori-manifest v1\n", 19, &m), 0);
    assert_int_equal(manifest_count(m), 0);
    assert_false(manifest_has_hash(m, sha));
    manifest_free(m);
}

struct diffs {
    char log[512];
};

static int diff_cb(void *ctx, enum manifest_change what, const struct manifest_entry *o,
                   const struct manifest_entry *n)
{
    struct diffs *d = ctx;
    size_t l = strlen(d->log);
    snprintf(d->log + l, sizeof(d->log) - l, "%c%s ",
             what == MANIFEST_ADDED ? '+' : what == MANIFEST_REMOVED ? '-' : '~', (n ? n : o)->path);
    return 0;
}

static void test_lc5_diff_names_added_removed_changed(void **state)
{
    struct manifest *a, *b;
    uint8_t s1[32], s2[32];
    sha_of(s1, 1);
    sha_of(s2, 2);
    assert_int_equal(manifest_new(&a), 0);
    assert_int_equal(manifest_new(&b), 0);
    assert_int_equal(manifest_add(a, s1, 1, "/same"), 0);
    assert_int_equal(manifest_add(a, s1, 1, "/gone"), 0);
    assert_int_equal(manifest_add(a, s1, 1, "/hash"), 0);
    assert_int_equal(manifest_add(a, s1, 1, "/size"), 0);
    assert_int_equal(manifest_add(b, s1, 1, "/same"), 0);
    assert_int_equal(manifest_add(b, s2, 1, "/hash"), 0);
    assert_int_equal(manifest_add(b, s1, 2, "/size"), 0);
    assert_int_equal(manifest_add(b, s1, 1, "/new"), 0);
    assert_int_equal(manifest_seal(a), 0);
    assert_int_equal(manifest_seal(b), 0);
    struct diffs d = {{0}};
    assert_int_equal(manifest_diff(a, b, diff_cb, &d), 0);
    assert_string_equal(d.log, "-/gone ~/hash +/new ~/size ");
    d.log[0] = '\0';
    assert_int_equal(manifest_diff(a, a, diff_cb, &d), 0);
    assert_string_equal(d.log, "");
    manifest_free(a);
    manifest_free(b);
}

static void test_hash_fd_matches_known_vector_and_limit(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200];
    uint8_t sha[32];
    uint64_t size;
    snprintf(path, sizeof(path), "%s/f", dir);
    FILE *f = fopen(path, "w");
    fputs("abc", f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(manifest_hash_fd(fd, 1000, sha, &size), 0);
    assert_int_equal(size, 3);
    size_t n;
    uint8_t *want = testutil_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &n);
    assert_memory_equal(sha, want, 32);
    free(want);
    assert_int_equal(manifest_hash_fd(fd, 2, sha, &size), MAMORI_ERR_TOOBIG);
    close(fd);
    /* public key from hex and from a file; garbage refused */
    uint8_t pub[32];
    const char *hex = "937d5a85bbb8329f4cf2831e63c722638d8c0fc5fef3b28569816f16b6777225";
    assert_int_equal(manifest_parse_pub(hex, pub), 0);
    assert_int_equal(pub[0], 0x93);
    f = fopen(path, "w");
    fprintf(f, "%s\n", hex);
    fclose(f);
    memset(pub, 0, sizeof(pub));
    assert_int_equal(manifest_parse_pub(path, pub), 0);
    assert_int_equal(pub[31], 0x25);
    f = fopen(path, "w");
    fputs("nothex\n", f);
    fclose(f);
    assert_int_equal(manifest_parse_pub(path, pub), MAMORI_ERR_INVAL);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lc5_sign_then_verify_roundtrip),
        cmocka_unit_test(test_pol5_tampered_or_unsigned_manifest_refused),
        cmocka_unit_test(test_hostile_manifest_text_rejected),
        cmocka_unit_test(test_lc5_diff_names_added_removed_changed),
        cmocka_unit_test(test_hash_fd_matches_known_vector_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
