/*
 * aesblk.c: owns the fast re-keyed AES-ECB block encryptor (see aesblk.h for
 * why). Owns no keys: callers pass them per call, and the schedules it leaves
 * in OpenSSL contexts are cleared when the context is freed.
 */

/* AES_set_encrypt_key/AES_encrypt are deprecated in OpenSSL 3. They are kept
 * only as a measured alternative for bench/bench_dukpt.c (AESBLK_LOWLEVEL;
 * table-based, not AES-NI, so never the default), hence the local suppression. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/aesblk.h"

#include <openssl/aes.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "mamori/err.h"

#define AESBLK_SIZES 3 /* 128, 192, 256 */

struct prov_fns {
    OSSL_FUNC_cipher_newctx_fn *newctx;
    OSSL_FUNC_cipher_freectx_fn *freectx;
    OSSL_FUNC_cipher_encrypt_init_fn *einit;
    OSSL_FUNC_cipher_cipher_fn *cipher;
    OSSL_FUNC_cipher_set_ctx_params_fn *set_params;
};

struct aesblk {
    enum aesblk_mode mode;
    OSSL_PROVIDER *prov;                 /* PROVIDER: owner of cipher[0] (not ref-counted here) */
    struct prov_fns fns[AESBLK_SIZES];
    void *pctx[AESBLK_SIZES];
    EVP_CIPHER *cipher[AESBLK_SIZES];    /* EVP_REUSE, EVP_NAIVE */
    EVP_CIPHER_CTX *ectx[AESBLK_SIZES];  /* EVP_REUSE */
};

static const char *const ecb_names[AESBLK_SIZES] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"};

static int size_index(size_t key_len)
{
    switch (key_len) {
    case 16: return 0;
    case 24: return 1;
    case 32: return 2;
    default: return -1;
    }
}

/* True when the colon-separated name list holds name. */
static int names_have(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ':');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, name, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int provider_setup(struct aesblk *a)
{
    int no_cache = 0, r = 0;
    /* The provider is found through a normal fetch, never loaded here:
     * loading (and later unloading) "default" explicitly would switch off
     * OpenSSL's implicit default provider for the whole process. The fetched
     * cipher holds a reference that keeps the provider alive. */
    if ((a->cipher[0] = EVP_CIPHER_fetch(NULL, ecb_names[0], NULL)) == NULL)
        return MAMORI_ERR_UNSUPPORTED;
    a->prov = (OSSL_PROVIDER *)EVP_CIPHER_get0_provider(a->cipher[0]);
    if (a->prov == NULL)
        return MAMORI_ERR_UNSUPPORTED;
    const OSSL_ALGORITHM *algs = OSSL_PROVIDER_query_operation(a->prov, OSSL_OP_CIPHER, &no_cache);
    if (algs == NULL)
        return MAMORI_ERR_UNSUPPORTED;
    for (int i = 0; i < AESBLK_SIZES && r == 0; i++) {
        const OSSL_DISPATCH *d = NULL;
        for (const OSSL_ALGORITHM *x = algs; x->algorithm_names != NULL; x++) {
            if (names_have(x->algorithm_names, ecb_names[i])) {
                d = x->implementation;
                break;
            }
        }
        if (d == NULL) {
            r = MAMORI_ERR_UNSUPPORTED;
            break;
        }
        struct prov_fns *f = &a->fns[i];
        for (; d->function_id != 0; d++) {
            switch (d->function_id) {
            case OSSL_FUNC_CIPHER_NEWCTX: f->newctx = OSSL_FUNC_cipher_newctx(d); break;
            case OSSL_FUNC_CIPHER_FREECTX: f->freectx = OSSL_FUNC_cipher_freectx(d); break;
            case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f->einit = OSSL_FUNC_cipher_encrypt_init(d); break;
            case OSSL_FUNC_CIPHER_CIPHER: f->cipher = OSSL_FUNC_cipher_cipher(d); break;
            case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
                f->set_params = OSSL_FUNC_cipher_set_ctx_params(d);
                break;
            default: break;
            }
        }
        if (!f->newctx || !f->freectx || !f->einit || !f->cipher || !f->set_params) {
            r = MAMORI_ERR_UNSUPPORTED;
            break;
        }
        if ((a->pctx[i] = f->newctx(OSSL_PROVIDER_get0_provider_ctx(a->prov))) == NULL) {
            r = MAMORI_ERR_NOMEM;
            break;
        }
        /* Padding off once; it survives re-keying. Init first with a dummy
         * key so the context is in encrypt state. */
        uint8_t zero[32] = {0};
        unsigned int pad = 0;
        OSSL_PARAM params[2] = {OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_PADDING, &pad),
                                OSSL_PARAM_construct_end()};
        if (!f->einit(a->pctx[i], zero, (size_t)(16 + 8 * i), NULL, 0, NULL) || !f->set_params(a->pctx[i], params))
            r = MAMORI_ERR_CRYPTO;
    }
    OSSL_PROVIDER_unquery_operation(a->prov, OSSL_OP_CIPHER, algs);
    if (r != 0)
        return r;
    /* Self-check on one block: a wrong dispatch table must not silently
     * produce wrong keys. FIPS-197 appendix C.1 key, plaintext, ciphertext. */
    static const uint8_t k[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const uint8_t p[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const uint8_t c[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                  0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
    uint8_t o[16];
    size_t ol = 0;
    if (!a->fns[0].einit(a->pctx[0], k, 16, NULL, 0, NULL) ||
        !a->fns[0].cipher(a->pctx[0], o, &ol, sizeof(o), p, 16) || ol != 16 || memcmp(o, c, 16) != 0)
        return MAMORI_ERR_CRYPTO;
    return 0;
}

static int evp_setup(struct aesblk *a, int reuse)
{
    for (int i = 0; i < AESBLK_SIZES; i++) {
        a->cipher[i] = EVP_CIPHER_fetch(NULL, ecb_names[i], NULL);
        if (a->cipher[i] == NULL)
            return MAMORI_ERR_CRYPTO;
        if (!reuse)
            continue;
        a->ectx[i] = EVP_CIPHER_CTX_new();
        if (a->ectx[i] == NULL)
            return MAMORI_ERR_NOMEM;
        uint8_t zero[32] = {0};
        if (!EVP_EncryptInit_ex(a->ectx[i], a->cipher[i], NULL, zero, NULL) ||
            !EVP_CIPHER_CTX_set_padding(a->ectx[i], 0))
            return MAMORI_ERR_CRYPTO;
    }
    return 0;
}

int aesblk_new(enum aesblk_mode mode, struct aesblk **ret)
{
    struct aesblk *a = calloc(1, sizeof(*a));
    int r = 0;
    if (a == NULL)
        return MAMORI_ERR_NOMEM;
    a->mode = mode;
    switch (mode) {
    case AESBLK_AUTO:
        a->mode = AESBLK_PROVIDER;
        if (provider_setup(a) != 0) {
            aesblk_free(a);
            if ((a = calloc(1, sizeof(*a))) == NULL)
                return MAMORI_ERR_NOMEM;
            a->mode = AESBLK_EVP_REUSE;
            r = evp_setup(a, 1);
        }
        break;
    case AESBLK_PROVIDER: r = provider_setup(a); break;
    case AESBLK_EVP_REUSE: r = evp_setup(a, 1); break;
    case AESBLK_EVP_NAIVE: r = 0; break;
    case AESBLK_LOWLEVEL: r = 0; break;
    default: r = MAMORI_ERR_INVAL; break;
    }
    if (r != 0) {
        aesblk_free(a);
        return r;
    }
    *ret = a;
    return 0;
}

void aesblk_free(struct aesblk *a)
{
    if (a == NULL)
        return;
    for (int i = 0; i < AESBLK_SIZES; i++) {
        if (a->pctx[i] != NULL && a->fns[i].freectx != NULL)
            a->fns[i].freectx(a->pctx[i]);
        EVP_CIPHER_CTX_free(a->ectx[i]);
        EVP_CIPHER_free(a->cipher[i]);
    }
    free(a);
}

enum aesblk_mode aesblk_mode(const struct aesblk *a)
{
    return a->mode;
}

static int enc_naive(const uint8_t *key, int i, const uint8_t *in, uint8_t *out, size_t n)
{
    static const EVP_CIPHER *(*const ciphers[AESBLK_SIZES])(void) = {
        EVP_aes_128_ecb, EVP_aes_192_ecb, EVP_aes_256_ecb};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0, r = MAMORI_ERR_CRYPTO;
    if (ctx == NULL)
        return MAMORI_ERR_NOMEM;
    if (EVP_EncryptInit_ex(ctx, ciphers[i](), NULL, key, NULL) && EVP_CIPHER_CTX_set_padding(ctx, 0) &&
        EVP_EncryptUpdate(ctx, out, &ol, in, (int)n) && EVP_EncryptFinal_ex(ctx, out + ol, &fl) &&
        (size_t)(ol + fl) == n)
        r = 0;
    EVP_CIPHER_CTX_free(ctx);
    return r;
}

int aesblk_encrypt(struct aesblk *a, const uint8_t *key, size_t key_len, const uint8_t *in,
                   uint8_t *out, size_t nblocks)
{
    int i = size_index(key_len);
    size_t n = nblocks * AESBLK_BLOCK;
    if (a == NULL || key == NULL || in == NULL || out == NULL || i < 0 || nblocks == 0 ||
        nblocks > AESBLK_MAX_BLOCKS)
        return MAMORI_ERR_INVAL;
    switch (a->mode) {
    case AESBLK_PROVIDER: {
        size_t ol = 0;
        if (!a->fns[i].einit(a->pctx[i], key, key_len, NULL, 0, NULL) ||
            !a->fns[i].cipher(a->pctx[i], out, &ol, n, in, n) || ol != n)
            return MAMORI_ERR_CRYPTO;
        return 0;
    }
    case AESBLK_EVP_REUSE: {
        int ol = 0;
        if (!EVP_EncryptInit_ex(a->ectx[i], NULL, NULL, key, NULL) ||
            !EVP_EncryptUpdate(a->ectx[i], out, &ol, in, (int)n) || (size_t)ol != n)
            return MAMORI_ERR_CRYPTO;
        return 0;
    }
    case AESBLK_LOWLEVEL: {
        AES_KEY ks;
        if (AES_set_encrypt_key(key, (int)key_len * 8, &ks) != 0)
            return MAMORI_ERR_CRYPTO;
        for (size_t b = 0; b < nblocks; b++)
            AES_encrypt(in + b * AESBLK_BLOCK, out + b * AESBLK_BLOCK, &ks);
        secmem_wipe(&ks, sizeof(ks));
        return 0;
    }
    case AESBLK_EVP_NAIVE: return enc_naive(key, i, in, out, n);
    default: return MAMORI_ERR_INTERNAL;
    }
}
