/*
 * pinblock.c: owns ISO 9564-1 format 0 and format 4 PIN block encoding,
 * checking and AES encipherment. Owns no keys (callers pass them) and no
 * randomness policy beyond the format-4 fill (libsodium randombytes).
 */
#include "crypto/pinblock.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "common/secmem.h"
#include "mamori/err.h"

/* Length of s if it is 1..max ASCII digits, else 0 (reads at most max+1 chars). */
static size_t digits_len(const char *s, size_t max)
{
    size_t n = 0;
    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        if (n >= max || s[n] < '0' || s[n] > '9')
            return 0;
    }
    return n;
}

static size_t pin_len_ok(const char *pin)
{
    size_t n = digits_len(pin, PINBLOCK_PIN_MAX);
    return n >= PINBLOCK_PIN_MIN ? n : 0;
}

static void set_nibble(uint8_t *b, size_t i, unsigned v)
{
    if (i % 2 == 0)
        b[i / 2] = (uint8_t)((b[i / 2] & 0x0f) | (v << 4));
    else
        b[i / 2] = (uint8_t)((b[i / 2] & 0xf0) | (v & 0x0f));
}

static unsigned get_nibble(const uint8_t *b, size_t i)
{
    return i % 2 == 0 ? b[i / 2] >> 4 : b[i / 2] & 0x0f;
}

/* Format 0 PAN field: 0000 || the rightmost 12 digits excluding the check digit. */
static int iso0_pan_field(const char *pan, uint8_t out[static 8])
{
    size_t n = digits_len(pan, PINBLOCK_PAN_MAX);
    if (n < 13)
        return MAMORI_ERR_INVAL;
    memset(out, 0, 8);
    for (size_t i = 0; i < 12; i++)
        set_nibble(out, 4 + i, (unsigned)(pan[n - 13 + i] - '0'));
    return 0;
}

int pinblock_iso0_encode(const char *pin, const char *pan, uint8_t ret_block[static PINBLOCK_ISO0_LEN])
{
    uint8_t pf[8], panf[8];
    size_t n = pin_len_ok(pin);
    if (n == 0 || ret_block == NULL || iso0_pan_field(pan, panf) != 0)
        return MAMORI_ERR_INVAL;
    memset(pf, 0xff, sizeof(pf));
    set_nibble(pf, 0, 0);
    set_nibble(pf, 1, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        set_nibble(pf, 2 + i, (unsigned)(pin[i] - '0'));
    for (size_t i = 0; i < 8; i++)
        ret_block[i] = pf[i] ^ panf[i];
    secmem_wipe(pf, sizeof(pf));
    return 0;
}

int pinblock_iso0_decode(const uint8_t *block, size_t block_len, const char *pan,
                         char ret_pin[static PINBLOCK_PIN_BUF])
{
    uint8_t pf[8], panf[8];
    char pin[PINBLOCK_PIN_BUF];
    int r = MAMORI_ERR_INVAL;
    if (block == NULL || ret_pin == NULL || block_len != PINBLOCK_ISO0_LEN || iso0_pan_field(pan, panf) != 0)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < 8; i++)
        pf[i] = block[i] ^ panf[i];
    unsigned n = get_nibble(pf, 1);
    if (get_nibble(pf, 0) != 0 || n < PINBLOCK_PIN_MIN || n > PINBLOCK_PIN_MAX)
        goto out;
    for (size_t i = 0; i < n; i++) {
        unsigned d = get_nibble(pf, 2 + i);
        if (d > 9)
            goto out;
        pin[i] = (char)('0' + d);
    }
    pin[n] = '\0';
    for (size_t i = 2 + n; i < 16; i++)
        if (get_nibble(pf, i) != 0xf) /* a wrong PAN shows up here */
            goto out;
    memcpy(ret_pin, pin, n + 1);
    r = 0;
out:
    secmem_wipe(pf, sizeof(pf));
    secmem_wipe(pin, sizeof(pin));
    return r;
}

int pinblock_iso4_pin_field(const char *pin, const uint8_t *fill, uint8_t ret_field[static PINBLOCK_ISO4_LEN])
{
    uint8_t f[PINBLOCK_ISO4_LEN];
    size_t n = pin_len_ok(pin);
    if (n == 0 || ret_field == NULL)
        return MAMORI_ERR_INVAL;
    memset(f, 0xaa, 8);
    set_nibble(f, 0, 4);
    set_nibble(f, 1, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        set_nibble(f, 2 + i, (unsigned)(pin[i] - '0'));
    if (fill != NULL)
        memcpy(f + 8, fill, PINBLOCK_ISO4_FILL_LEN);
    else
        randombytes_buf(f + 8, PINBLOCK_ISO4_FILL_LEN);
    memcpy(ret_field, f, sizeof(f));
    secmem_wipe(f, sizeof(f));
    return 0;
}

int pinblock_iso4_pan_field(const char *pan, uint8_t ret_field[static PINBLOCK_ISO4_LEN])
{
    size_t n = digits_len(pan, PINBLOCK_PAN_MAX);
    if (n == 0 || ret_field == NULL)
        return MAMORI_ERR_INVAL;
    memset(ret_field, 0, PINBLOCK_ISO4_LEN);
    set_nibble(ret_field, 0, n > 12 ? (unsigned)(n - 12) : 0);
    size_t start = n < 12 ? 1 + (12 - n) : 1; /* short PANs are right-justified in 12 digits */
    for (size_t i = 0; i < n; i++)
        set_nibble(ret_field, start + i, (unsigned)(pan[i] - '0'));
    return 0;
}

int pinblock_iso4_pin_field_decode(const uint8_t *field, size_t field_len, char ret_pin[static PINBLOCK_PIN_BUF])
{
    char pin[PINBLOCK_PIN_BUF];
    int r = MAMORI_ERR_INVAL;
    if (field == NULL || ret_pin == NULL || field_len != PINBLOCK_ISO4_LEN)
        return MAMORI_ERR_INVAL;
    unsigned n = get_nibble(field, 1);
    if (get_nibble(field, 0) != 4 || n < PINBLOCK_PIN_MIN || n > PINBLOCK_PIN_MAX)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned d = get_nibble(field, 2 + i);
        if (d > 9)
            goto out;
        pin[i] = (char)('0' + d);
    }
    pin[n] = '\0';
    for (size_t i = 2 + n; i < 16; i++)
        if (get_nibble(field, i) != 0xa)
            goto out;
    memcpy(ret_pin, pin, n + 1);
    r = 0;
out:
    secmem_wipe(pin, sizeof(pin));
    return r;
}

static const EVP_CIPHER *ecb_for(size_t key_len)
{
    switch (key_len) {
    case 16: return EVP_aes_128_ecb();
    case 24: return EVP_aes_192_ecb();
    case 32: return EVP_aes_256_ecb();
    default: return NULL;
    }
}

/* One AES-ECB block, encrypting (enc=1) or decrypting. */
static int aes_block(const uint8_t *key, size_t key_len, int enc, const uint8_t in[16], uint8_t out[16])
{
    const EVP_CIPHER *c = ecb_for(key_len);
    EVP_CIPHER_CTX *ctx;
    int ol = 0, r = MAMORI_ERR_CRYPTO;
    if (c == NULL)
        return MAMORI_ERR_INVAL;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        return MAMORI_ERR_NOMEM;
    if (EVP_CipherInit_ex(ctx, c, NULL, key, NULL, enc) && EVP_CIPHER_CTX_set_padding(ctx, 0) &&
        EVP_CipherUpdate(ctx, out, &ol, in, 16) && ol == 16)
        r = 0;
    EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
    return r;
}

int pinblock_iso4_encipher(const uint8_t *key, size_t key_len, const char *pin, const char *pan,
                           const uint8_t *fill, uint8_t ret_block[static PINBLOCK_ISO4_LEN])
{
    uint8_t pinf[16], panf[16], x[16], out[16];
    int r;
    if (key == NULL || ret_block == NULL || ecb_for(key_len) == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = pinblock_iso4_pin_field(pin, fill, pinf)) != 0 || (r = pinblock_iso4_pan_field(pan, panf)) != 0 ||
        (r = aes_block(key, key_len, 1, pinf, x)) != 0)
        goto out;
    for (size_t i = 0; i < 16; i++)
        x[i] ^= panf[i];
    if ((r = aes_block(key, key_len, 1, x, out)) != 0)
        goto out;
    memcpy(ret_block, out, 16);
out:
    secmem_wipe(pinf, sizeof(pinf));
    secmem_wipe(x, sizeof(x));
    return r;
}

int pinblock_iso4_decipher(const uint8_t *key, size_t key_len, const uint8_t *block, size_t block_len,
                           const char *pan, char ret_pin[static PINBLOCK_PIN_BUF])
{
    uint8_t panf[16], x[16], pinf[16];
    int r;
    if (key == NULL || block == NULL || ret_pin == NULL || block_len != PINBLOCK_ISO4_LEN ||
        ecb_for(key_len) == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = pinblock_iso4_pan_field(pan, panf)) != 0 || (r = aes_block(key, key_len, 0, block, x)) != 0)
        goto out;
    for (size_t i = 0; i < 16; i++)
        x[i] ^= panf[i];
    if ((r = aes_block(key, key_len, 0, x, pinf)) != 0)
        goto out;
    r = pinblock_iso4_pin_field_decode(pinf, sizeof(pinf), ret_pin);
out:
    secmem_wipe(x, sizeof(x));
    secmem_wipe(pinf, sizeof(pinf));
    return r;
}
