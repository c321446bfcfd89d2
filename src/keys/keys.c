/*
 * keys.c: in-process key holder. Owns the private keys (guarded memory,
 * PROT_NONE while idle) and the key file format; must not own any protocol.
 */
#include "keys/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/secmem.h"
#include "mamori/err.h"

#define KEYS_MAGIC "mamori-keys-v1\n"
#define KEYS_MAGIC_LEN (sizeof(KEYS_MAGIC) - 1)

struct secret {
    uint8_t dh_sk[KEYS_DH_LEN];
    uint8_t ed_seed[32];
    uint8_t ed_sk[crypto_sign_SECRETKEYBYTES];
};

struct keys {
    struct secret *sec; /* guarded, noaccess when idle */
    uint8_t dh_pk[KEYS_DH_LEN];
    uint8_t ed_pk[KEYS_PK_LEN];
};

static int keys_build(const uint8_t dh_sk[KEYS_DH_LEN], const uint8_t seed[32], struct keys **ret)
{
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    struct keys *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return MAMORI_ERR_NOMEM;
    k->sec = secmem_new(sizeof(struct secret));
    if (k->sec == NULL) {
        free(k);
        return MAMORI_ERR_NOMEM;
    }
    memcpy(k->sec->dh_sk, dh_sk, KEYS_DH_LEN);
    memcpy(k->sec->ed_seed, seed, 32);
    crypto_scalarmult_base(k->dh_pk, k->sec->dh_sk);
    crypto_sign_seed_keypair(k->ed_pk, k->sec->ed_sk, k->sec->ed_seed);
    secmem_lock(k->sec);
    *ret = k;
    return 0;
}

int keys_generate(struct keys **ret)
{
    uint8_t m[64];
    int r;
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    randombytes_buf(m, sizeof(m));
    r = keys_build(m, m + 32, ret);
    sodium_memzero(m, sizeof(m));
    return r;
}

int keys_from_x25519(const uint8_t sk[static KEYS_DH_LEN], struct keys **ret)
{
    uint8_t seed[32];
    int r;
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    crypto_generichash(seed, sizeof(seed), sk, KEYS_DH_LEN, (const uint8_t *)"mamori-ed-seed", 14);
    r = keys_build(sk, seed, ret);
    sodium_memzero(seed, sizeof(seed));
    return r;
}

void keys_free(struct keys *k)
{
    if (k == NULL)
        return;
    secmem_free(k->sec);
    free(k);
}

int keys_load(const char *path, struct keys **ret)
{
    uint8_t m[KEYS_MAGIC_LEN + 64 + 1];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    ssize_t n = read(fd, m, sizeof(m));
    close(fd);
    int r;
    if (n != (ssize_t)(KEYS_MAGIC_LEN + 64) || memcmp(m, KEYS_MAGIC, KEYS_MAGIC_LEN) != 0)
        r = MAMORI_ERR_INVAL;
    else
        r = keys_build(m + KEYS_MAGIC_LEN, m + KEYS_MAGIC_LEN + 32, ret);
    sodium_memzero(m, sizeof(m));
    return r;
}

int keys_save(const struct keys *k, const char *path)
{
    uint8_t m[KEYS_MAGIC_LEN + 64];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO;
    memcpy(m, KEYS_MAGIC, KEYS_MAGIC_LEN);
    secmem_read(k->sec);
    memcpy(m + KEYS_MAGIC_LEN, k->sec->dh_sk, 32);
    memcpy(m + KEYS_MAGIC_LEN + 32, k->sec->ed_seed, 32);
    secmem_lock(k->sec);
    ssize_t w = write(fd, m, sizeof(m));
    sodium_memzero(m, sizeof(m));
    int r = (w == (ssize_t)sizeof(m) && fsync(fd) == 0) ? 0 : MAMORI_ERR_IO;
    close(fd);
    if (r != 0)
        unlink(path);
    return r;
}

int keys_load_or_create(const char *path, struct keys **ret)
{
    int r = keys_load(path, ret);
    if (r != MAMORI_ERR_NOTFOUND)
        return r;
    struct keys *k;
    if ((r = keys_generate(&k)))
        return r;
    if ((r = keys_save(k, path))) {
        keys_free(k);
        return r;
    }
    *ret = k;
    return 0;
}

void keys_dh_public(const struct keys *k, uint8_t ret_pub[static KEYS_DH_LEN])
{
    memcpy(ret_pub, k->dh_pk, KEYS_DH_LEN);
}

void keys_sign_public(const struct keys *k, uint8_t ret_pub[static KEYS_PK_LEN])
{
    memcpy(ret_pub, k->ed_pk, KEYS_PK_LEN);
}

int keys_dh(struct keys *k, uint8_t ret_shared[static KEYS_DH_LEN], const uint8_t peer[static KEYS_DH_LEN])
{
    secmem_read(k->sec);
    int r = crypto_scalarmult(ret_shared, k->sec->dh_sk, peer);
    secmem_lock(k->sec);
    return r == 0 ? 0 : MAMORI_ERR_CRYPTO;
}

int keys_sign(struct keys *k, uint8_t ret_sig[static KEYS_SIG_LEN], const uint8_t *msg, size_t n)
{
    secmem_read(k->sec);
    int r = crypto_sign_detached(ret_sig, NULL, msg, n, k->sec->ed_sk);
    secmem_lock(k->sec);
    return r == 0 ? 0 : MAMORI_ERR_CRYPTO;
}

int keys_verify(const uint8_t pub[static KEYS_PK_LEN], const uint8_t sig[static KEYS_SIG_LEN],
                const uint8_t *msg, size_t n)
{
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    return crypto_sign_verify_detached(sig, msg, n, pub) == 0 ? 0 : MAMORI_ERR_AUTH;
}
