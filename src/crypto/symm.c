/*
 * symm.c: owns the EVP plumbing for AES/TDES ECB, CBC, CTR, CMAC and CBC-MAC
 * (see symm.h). Owns no keys: the expanded TDES key copy is wiped.
 */
#include "crypto/symm.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#include "common/secmem.h"
#include "mamori/err.h"

size_t symm_block(enum symm_alg alg)
{
    return alg == SYMM_AES ? SYMM_AES_BLOCK : SYMM_TDES_BLOCK;
}

bool symm_key_ok(enum symm_alg alg, size_t key_len)
{
    if (alg == SYMM_AES)
        return key_len == 16 || key_len == 24 || key_len == 32;
    return key_len == 8 || key_len == 16 || key_len == 24;
}

/* Key as EVP wants it: TDES always 24 bytes. */
static void expand(enum symm_alg alg, const uint8_t *key, size_t key_len, uint8_t out[32], size_t *ret_len)
{
    if (alg == SYMM_AES) {
        memcpy(out, key, key_len);
        *ret_len = key_len;
        return;
    }
    if (key_len == 8) {
        memcpy(out, key, 8);
        memcpy(out + 8, key, 8);
        memcpy(out + 16, key, 8);
    } else if (key_len == 16) {
        memcpy(out, key, 16);
        memcpy(out + 16, key, 8);
    } else {
        memcpy(out, key, 24);
    }
    *ret_len = 24;
}

static const char *cipher_name(enum symm_alg alg, size_t key_len, int cbc)
{
    if (alg == SYMM_TDES)
        return cbc ? "DES-EDE3-CBC" : "DES-EDE3-ECB";
    switch (key_len) {
    case 16: return cbc ? "AES-128-CBC" : "AES-128-ECB";
    case 24: return cbc ? "AES-192-CBC" : "AES-192-ECB";
    default: return cbc ? "AES-256-CBC" : "AES-256-ECB";
    }
}

static int run_cipher(const char *name, int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
                      uint8_t *out, size_t n, int pad_off)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0, r = MAMORI_ERR_CRYPTO;
    if (c == NULL || ctx == NULL)
        goto out;
    if (!EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL) || (pad_off && !EVP_CIPHER_CTX_set_padding(ctx, 0)))
        goto out;
    if (!EVP_CipherUpdate(ctx, out, &ol, in, (int)n) || !EVP_CipherFinal_ex(ctx, out + ol, &fl) ||
        (size_t)(ol + fl) != n)
        goto out;
    r = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return r;
}

int symm_crypt(enum symm_alg alg, int enc, const uint8_t *key, size_t key_len, const uint8_t *iv,
               const uint8_t *in, uint8_t *out, size_t n)
{
    uint8_t k[32];
    size_t kl;
    int r;
    if (key == NULL || in == NULL || out == NULL || !symm_key_ok(alg, key_len) || n == 0 ||
        n > SYMM_MAX_DATA || n % symm_block(alg) != 0)
        return MAMORI_ERR_INVAL;
    expand(alg, key, key_len, k, &kl);
    r = run_cipher(cipher_name(alg, key_len, iv != NULL), enc, k, iv, in, out, n, 1);
    secmem_wipe(k, sizeof(k));
    return r;
}

int symm_aes_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[static 16], const uint8_t *in,
                 uint8_t *out, size_t n)
{
    const char *name = key_len == 16 ? "AES-128-CTR" : key_len == 24 ? "AES-192-CTR" : "AES-256-CTR";
    if (key == NULL || in == NULL || out == NULL || !symm_key_ok(SYMM_AES, key_len) || n > SYMM_MAX_DATA)
        return MAMORI_ERR_INVAL;
    if (n == 0)
        return 0;
    return run_cipher(name, 1, key, iv, in, out, n, 0);
}

int symm_cmac(enum symm_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
              uint8_t *out)
{
    uint8_t k[32];
    size_t kl, ol = 0;
    int r = MAMORI_ERR_CRYPTO;
    if (key == NULL || (data == NULL && n > 0) || out == NULL || !symm_key_ok(alg, key_len) ||
        n > SYMM_MAX_DATA)
        return MAMORI_ERR_INVAL;
    expand(alg, key, key_len, k, &kl);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher_name(alg, key_len, 1), 0),
        OSSL_PARAM_construct_end()};
    if (ctx != NULL && EVP_MAC_init(ctx, k, kl, params) && EVP_MAC_update(ctx, data, n) &&
        EVP_MAC_final(ctx, out, &ol, symm_block(alg)) && ol == symm_block(alg))
        r = 0;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    secmem_wipe(k, sizeof(k));
    return r;
}

int symm_cbc_mac(enum symm_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
                 uint8_t *out)
{
    uint8_t iv[16] = {0}, k[32], chain[16];
    size_t bs = symm_block(alg), kl;
    int r = 0;
    if (key == NULL || data == NULL || out == NULL || !symm_key_ok(alg, key_len) || n == 0 ||
        n % bs != 0 || n > SYMM_MAX_DATA)
        return MAMORI_ERR_INVAL;
    expand(alg, key, key_len, k, &kl);
    /* Block by block with ECB, so no ciphertext buffer of size n is needed. */
    memcpy(chain, iv, bs);
    for (size_t off = 0; off < n && r == 0; off += bs) {
        for (size_t i = 0; i < bs; i++)
            chain[i] ^= data[off + i];
        r = run_cipher(cipher_name(alg, key_len, 0), 1, k, NULL, chain, chain, bs, 1);
    }
    if (r == 0)
        memcpy(out, chain, bs);
    secmem_wipe(k, sizeof(k));
    secmem_wipe(chain, sizeof(chain));
    return r;
}
