/*
 * dukpt_tdes.c: owns legacy TDES DUKPT (X9.24-1:2009) host-side derivation
 * and the X9.19 retail MAC. Owns no keys beyond one call; single DES is
 * done as TDES with K|K|K (crypto/symm.h), since OpenSSL 3 keeps plain DES
 * in the legacy provider.
 */
#include "crypto/dukpt_tdes.h"

#include <string.h>

#include "common/secmem.h"
#include "crypto/symm.h"
#include "mamori/err.h"

static const uint8_t key_mask[16] = {0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0};

uint32_t dukpt_tdes_ksn_counter(const uint8_t ksn[static DUKPT_TDES_KSN_LEN])
{
    return ((uint32_t)ksn[7] << 16 | (uint32_t)ksn[8] << 8 | ksn[9]) & DUKPT_TDES_COUNTER_MASK;
}

bool dukpt_tdes_counter_valid(uint32_t counter)
{
    return counter != 0 && counter <= DUKPT_TDES_COUNTER_MASK &&
           __builtin_popcount(counter) <= DUKPT_TDES_MAX_BITS;
}

static int des1(const uint8_t key[static 8], int enc, const uint8_t in[static 8], uint8_t out[static 8])
{
    return symm_crypt(SYMM_TDES, enc, key, 8, NULL, in, out, 8);
}

int dukpt_tdes_ipek(const uint8_t bdk[static DUKPT_TDES_KEY_LEN], const uint8_t ksn[static DUKPT_TDES_KSN_LEN],
                    uint8_t ret_ipek[static DUKPT_TDES_KEY_LEN])
{
    uint8_t d[8], k2[16], out[16];
    int r;
    memcpy(d, ksn, 8);
    d[7] &= 0xE0; /* the counter bits inside the leftmost 8 bytes cleared */
    for (int i = 0; i < 16; i++)
        k2[i] = bdk[i] ^ key_mask[i];
    if ((r = symm_crypt(SYMM_TDES, 1, bdk, 16, NULL, d, out, 8)) == 0 &&
        (r = symm_crypt(SYMM_TDES, 1, k2, 16, NULL, d, out + 8, 8)) == 0)
        memcpy(ret_ipek, out, 16);
    secmem_wipe(k2, sizeof(k2));
    secmem_wipe(out, sizeof(out));
    return r;
}

/* Non-reversible key generation: new key from key and the 8-byte KSN register. */
static int nrkgp(uint8_t key[static 16], const uint8_t reg[static 8])
{
    uint8_t k[16], out[16], t[8];
    int r = 0;
    for (int half = 0; half < 2 && r == 0; half++) {
        /* right half under the key, left half under the key XOR C0C0C0C000000000... */
        for (int i = 0; i < 16; i++)
            k[i] = half == 0 ? key[i] : key[i] ^ key_mask[i];
        for (int i = 0; i < 8; i++)
            t[i] = reg[i] ^ k[8 + i];
        if ((r = des1(k, 1, t, t)) == 0)
            for (int i = 0; i < 8; i++)
                out[(half == 0 ? 8 : 0) + i] = t[i] ^ k[8 + i];
    }
    if (r == 0)
        memcpy(key, out, 16);
    secmem_wipe(k, sizeof(k));
    secmem_wipe(out, sizeof(out));
    secmem_wipe(t, sizeof(t));
    return r;
}

int dukpt_tdes_transaction_key(const uint8_t ipek[static DUKPT_TDES_KEY_LEN],
                               const uint8_t ksn[static DUKPT_TDES_KSN_LEN], uint8_t ret_key[static DUKPT_TDES_KEY_LEN])
{
    uint32_t counter = dukpt_tdes_ksn_counter(ksn);
    uint8_t key[16], reg[8];
    int r = 0;
    if (!dukpt_tdes_counter_valid(counter))
        return MAMORI_ERR_INVAL;
    memcpy(key, ipek, 16);
    memcpy(reg, ksn + 2, 8); /* rightmost 64 bits of the KSN, counter cleared */
    reg[5] &= 0xE0;
    reg[6] = 0;
    reg[7] = 0;
    for (uint32_t bit = 0x100000u; bit != 0 && r == 0; bit >>= 1) {
        if (!(counter & bit))
            continue;
        reg[5] |= (uint8_t)(bit >> 16);
        reg[6] |= (uint8_t)(bit >> 8);
        reg[7] |= (uint8_t)bit;
        r = nrkgp(key, reg);
    }
    if (r == 0)
        memcpy(ret_key, key, 16);
    secmem_wipe(key, sizeof(key));
    return r;
}

int dukpt_tdes_variant_key(const uint8_t key[static DUKPT_TDES_KEY_LEN], enum dukpt_tdes_variant v,
                           uint8_t ret_key[static DUKPT_TDES_KEY_LEN])
{
    static const int byte_of[] = {7, 6, 4, 5, 3}; /* PIN, MAC req, MAC resp, data req, data resp */
    uint8_t k[16], out[16];
    int r = 0;
    if ((unsigned)v > DUKPT_TDES_DATA_RESPONSE)
        return MAMORI_ERR_INVAL;
    memcpy(k, key, 16);
    k[byte_of[v]] ^= 0xFF;
    k[8 + byte_of[v]] ^= 0xFF;
    memcpy(out, k, 16);
    if (v == DUKPT_TDES_DATA_REQUEST || v == DUKPT_TDES_DATA_RESPONSE)
        r = symm_crypt(SYMM_TDES, 1, k, 16, NULL, k, out, 16); /* one-way: each half under the variant */
    if (r == 0)
        memcpy(ret_key, out, 16);
    secmem_wipe(k, sizeof(k));
    secmem_wipe(out, sizeof(out));
    return r;
}

int dukpt_tdes_retail_mac(const uint8_t key[static DUKPT_TDES_KEY_LEN], const uint8_t *data, size_t n,
                          uint8_t ret_mac[static 8])
{
    uint8_t s[8] = {0}, blk[8];
    int r = 0;
    if (data == NULL || n == 0 || n > SYMM_MAX_DATA)
        return MAMORI_ERR_INVAL;
    for (size_t off = 0; off < n && r == 0; off += 8) {
        memset(blk, 0, sizeof(blk));
        memcpy(blk, data + off, n - off < 8 ? n - off : 8);
        for (int i = 0; i < 8; i++)
            s[i] ^= blk[i];
        r = des1(key, 1, s, s);
    }
    if (r == 0 && (r = des1(key + 8, 0, s, s)) == 0 && (r = des1(key, 1, s, s)) == 0)
        memcpy(ret_mac, s, 8);
    secmem_wipe(s, sizeof(s));
    return r;
}
