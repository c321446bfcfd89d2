/*
 * dukpt.c: owns AES DUKPT key derivation (ANSI X9.24-3-2017), host side
 * (BDK context) and device side (future-key registers). Owns no I/O and no
 * persistence policy: callers store the device blob and the BDK.
 *
 * Every derivation step is one AES-ECB encryption of the 16-byte derivation
 * data block(s) under the previous key:
 *   [0] version 0x01  [1] block counter 1..n  [2..3] key usage
 *   [4..5] algorithm of the derived key  [6..7] its length in bits
 *   [8..15] initial key ID (initial key) or derivation ID || counter (others)
 * The blocks are encrypted under a key that changes on every step, so the
 * AES goes through crypto/aesblk (one re-keyed provider context, no EVP
 * set-up per call).
 */
#include "crypto/dukpt.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "crypto/aesblk.h"
#include "mamori/err.h"

size_t dukpt_aes_key_len(enum dukpt_aes_key_type type)
{
    switch (type) {
    case DUKPT_AES_TDES2: return 16;
    case DUKPT_AES_TDES3: return 24;
    case DUKPT_AES_AES128: return 16;
    case DUKPT_AES_AES192: return 24;
    case DUKPT_AES_AES256: return 32;
    default: return 0;
    }
}

/* Security strength in bits, used to refuse deriving a stronger key than its parent. */
static unsigned key_strength(enum dukpt_aes_key_type type)
{
    switch (type) {
    case DUKPT_AES_TDES2: return 80;
    case DUKPT_AES_TDES3: return 112;
    case DUKPT_AES_AES128: return 128;
    case DUKPT_AES_AES192: return 192;
    case DUKPT_AES_AES256: return 256;
    default: return 0;
    }
}

int dukpt_aes_type_for_len(size_t key_len)
{
    switch (key_len) {
    case 16: return DUKPT_AES_AES128;
    case 24: return DUKPT_AES_AES192;
    case 32: return DUKPT_AES_AES256;
    default: return -1;
    }
}

bool dukpt_aes_counter_valid(uint32_t counter)
{
    return counter != 0 && __builtin_popcount(counter) <= DUKPT_AES_MAX_BITS;
}

uint32_t dukpt_aes_ksn_counter(const uint8_t ksn[static DUKPT_AES_KSN_LEN])
{
    return (uint32_t)ksn[8] << 24 | (uint32_t)ksn[9] << 16 | (uint32_t)ksn[10] << 8 | ksn[11];
}

static bool usage_known(enum dukpt_aes_usage usage)
{
    switch (usage) {
    case DUKPT_USAGE_KEK: case DUKPT_USAGE_PIN: case DUKPT_USAGE_MAC_GEN:
    case DUKPT_USAGE_MAC_VERIFY: case DUKPT_USAGE_MAC_BOTH: case DUKPT_USAGE_DATA_ENC:
    case DUKPT_USAGE_DATA_DEC: case DUKPT_USAGE_DATA_BOTH: case DUKPT_USAGE_DERIVATION:
    case DUKPT_USAGE_INITIAL:
        return true;
    default:
        return false;
    }
}

/* The derivation step with an explicit AES context (see file comment). */
static int derive_with(struct aesblk *a, const uint8_t *key, size_t key_len, enum dukpt_aes_usage usage,
                       enum dukpt_aes_key_type type, const uint8_t data8[static 8], uint8_t *out)
{
    uint8_t blocks[AESBLK_MAX_BLOCKS * AESBLK_BLOCK];
    size_t out_len = dukpt_aes_key_len(type);
    int parent = dukpt_aes_type_for_len(key_len);
    if (out_len == 0 || parent < 0 || !usage_known(usage) ||
        key_strength(type) > key_strength((enum dukpt_aes_key_type)parent))
        return MAMORI_ERR_INVAL;
    size_t nblocks = (out_len + AESBLK_BLOCK - 1) / AESBLK_BLOCK;
    unsigned bits = (unsigned)out_len * 8;
    for (size_t i = 0; i < nblocks; i++) {
        uint8_t *b = blocks + i * AESBLK_BLOCK;
        b[0] = 0x01;
        b[1] = (uint8_t)(i + 1);
        b[2] = (uint8_t)(usage >> 8);
        b[3] = (uint8_t)usage;
        b[4] = 0;
        b[5] = (uint8_t)type;
        b[6] = (uint8_t)(bits >> 8);
        b[7] = (uint8_t)bits;
        memcpy(b + 8, data8, 8);
    }
    int r = aesblk_encrypt(a, key, key_len, blocks, blocks, nblocks);
    if (r == 0)
        memcpy(out, blocks, out_len);
    secmem_wipe(blocks, sizeof(blocks));
    return r;
}

static void put_data(uint8_t data8[static 8], const uint8_t ksn[static DUKPT_AES_KSN_LEN], uint32_t counter)
{
    memcpy(data8, ksn + 4, 4); /* derivation ID: the right half of the initial key ID */
    data8[4] = (uint8_t)(counter >> 24);
    data8[5] = (uint8_t)(counter >> 16);
    data8[6] = (uint8_t)(counter >> 8);
    data8[7] = (uint8_t)counter;
}

/* Walk the counter's one-bits from the top, deriving each intermediate key.
 * No validity check: the update key walks all 32 bits of 0xFFFFFFFF. */
static int chain_raw(struct aesblk *a, const uint8_t *ik, size_t ik_len,
                     const uint8_t ksn[static DUKPT_AES_KSN_LEN], uint8_t *out)
{
    uint8_t key[DUKPT_AES_KEY_MAX], data8[8];
    uint32_t counter = dukpt_aes_ksn_counter(ksn), wc = 0;
    int type = dukpt_aes_type_for_len(ik_len), r = 0;
    if (type < 0)
        return MAMORI_ERR_INVAL;
    memcpy(key, ik, ik_len);
    for (uint32_t rest = counter; rest != 0;) {
        uint32_t bit = 0x80000000u >> __builtin_clz(rest); /* next one-bit from the top */
        rest &= ~bit;
        wc |= bit;
        put_data(data8, ksn, wc);
        if ((r = derive_with(a, key, ik_len, DUKPT_USAGE_DERIVATION, (enum dukpt_aes_key_type)type, data8,
                             key)) != 0)
            goto out;
    }
    memcpy(out, key, ik_len);
out:
    secmem_wipe(key, sizeof(key));
    return r;
}

/* The transaction derivation key of a KSN with a valid counter. */
static int chain_with(struct aesblk *a, const uint8_t *ik, size_t ik_len,
                      const uint8_t ksn[static DUKPT_AES_KSN_LEN], uint8_t *out)
{
    if (!dukpt_aes_counter_valid(dukpt_aes_ksn_counter(ksn)))
        return MAMORI_ERR_INVAL;
    return chain_raw(a, ik, ik_len, ksn, out);
}

/* Run f with a temporary AES context (the stateless API). */
static int with_aes(struct aesblk **ret)
{
    return aesblk_new(AESBLK_AUTO, ret);
}

int dukpt_aes_derive(const uint8_t *key, size_t key_len, enum dukpt_aes_usage usage,
                     enum dukpt_aes_key_type type, const uint8_t data8[static 8], uint8_t *out)
{
    struct aesblk *a = NULL;
    int r;
    if (key == NULL || out == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = with_aes(&a)) != 0)
        return r;
    r = derive_with(a, key, key_len, usage, type, data8, out);
    aesblk_free(a);
    return r;
}

int dukpt_aes_initial_key(const uint8_t *bdk, size_t bdk_len,
                          const uint8_t ikid[static DUKPT_AES_IKID_LEN], uint8_t *ret_ik)
{
    int type = dukpt_aes_type_for_len(bdk_len);
    if (bdk == NULL || ret_ik == NULL || type < 0)
        return MAMORI_ERR_INVAL;
    return dukpt_aes_derive(bdk, bdk_len, DUKPT_USAGE_INITIAL, (enum dukpt_aes_key_type)type, ikid, ret_ik);
}

int dukpt_aes_derivation_key(const uint8_t *ik, size_t ik_len,
                             const uint8_t ksn[static DUKPT_AES_KSN_LEN], uint8_t *ret_key)
{
    struct aesblk *a = NULL;
    int r;
    if (ik == NULL || ret_key == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = with_aes(&a)) != 0)
        return r;
    r = chain_with(a, ik, ik_len, ksn, ret_key);
    aesblk_free(a);
    return r;
}

int dukpt_aes_working_key(const uint8_t *dk, size_t dk_len, const uint8_t ksn[static DUKPT_AES_KSN_LEN],
                          enum dukpt_aes_usage usage, enum dukpt_aes_key_type type, uint8_t *ret_key)
{
    uint8_t data8[8];
    uint32_t counter = dukpt_aes_ksn_counter(ksn);
    if (!dukpt_aes_counter_valid(counter) || usage == DUKPT_USAGE_DERIVATION || usage == DUKPT_USAGE_INITIAL)
        return MAMORI_ERR_INVAL;
    put_data(data8, ksn, counter);
    return dukpt_aes_derive(dk, dk_len, usage, type, data8, ret_key);
}

int dukpt_aes_update_key(const uint8_t *ik, size_t ik_len, const uint8_t ikid[static DUKPT_AES_IKID_LEN],
                         enum dukpt_aes_key_type type, uint8_t *ret_key)
{
    /* X9.24-3: the update key is the KEK working key of the derivation key
     * for counter 0xFFFFFFFF, all 32 bits walked (outside the 16-bit limit,
     * never a transaction counter). */
    uint8_t ksn[DUKPT_AES_KSN_LEN], data8[8], dk[DUKPT_AES_KEY_MAX];
    struct aesblk *a = NULL;
    int r;
    if (ik == NULL || ikid == NULL || ret_key == NULL)
        return MAMORI_ERR_INVAL;
    memcpy(ksn, ikid, DUKPT_AES_IKID_LEN);
    memset(ksn + DUKPT_AES_IKID_LEN, 0xff, 4);
    put_data(data8, ksn, 0xffffffffu);
    if ((r = with_aes(&a)) != 0)
        return r;
    if ((r = chain_raw(a, ik, ik_len, ksn, dk)) == 0)
        r = derive_with(a, dk, ik_len, DUKPT_USAGE_KEK, type, data8, ret_key);
    secmem_wipe(dk, sizeof(dk));
    aesblk_free(a);
    return r;
}

/* ---- host side ---- */

struct dukpt_aes_host {
    uint8_t *bdk; /* secmem, read-only while the host lives */
    size_t bdk_len;
    struct aesblk *aes;
};

int dukpt_aes_host_new_mode(const uint8_t *bdk, size_t bdk_len, int aesblk_mode, struct dukpt_aes_host **ret)
{
    struct dukpt_aes_host *h;
    int r;
    if (bdk == NULL || ret == NULL || dukpt_aes_type_for_len(bdk_len) < 0)
        return MAMORI_ERR_INVAL;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((h->bdk = secmem_new(bdk_len)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto fail;
    }
    memcpy(h->bdk, bdk, bdk_len);
    /* Read-only, not no-access: a mprotect pair per derivation would cost
     * more than the derivation (see docs/benchmarks.md). */
    secmem_read(h->bdk);
    h->bdk_len = bdk_len;
    if ((r = aesblk_new((enum aesblk_mode)aesblk_mode, &h->aes)) != 0)
        goto fail;
    *ret = h;
    return 0;
fail:
    dukpt_aes_host_free(h);
    return r;
}

int dukpt_aes_host_new(const uint8_t *bdk, size_t bdk_len, struct dukpt_aes_host **ret)
{
    return dukpt_aes_host_new_mode(bdk, bdk_len, AESBLK_AUTO, ret);
}

void dukpt_aes_host_free(struct dukpt_aes_host *h)
{
    if (h == NULL)
        return;
    secmem_free(h->bdk);
    aesblk_free(h->aes);
    free(h);
}

size_t dukpt_aes_host_key_len(const struct dukpt_aes_host *h)
{
    return h->bdk_len;
}

int dukpt_aes_host_initial_key(struct dukpt_aes_host *h, const uint8_t ikid[static DUKPT_AES_IKID_LEN],
                               uint8_t *ret_ik)
{
    uint8_t ik[DUKPT_AES_KEY_MAX];
    int btype, r;
    if (h == NULL || ikid == NULL || ret_ik == NULL)
        return MAMORI_ERR_INVAL;
    btype = dukpt_aes_type_for_len(h->bdk_len);
    if ((r = derive_with(h->aes, h->bdk, h->bdk_len, DUKPT_USAGE_INITIAL, (enum dukpt_aes_key_type)btype, ikid,
                         ik)) == 0)
        memcpy(ret_ik, ik, h->bdk_len);
    secmem_wipe(ik, sizeof(ik));
    return r;
}

int dukpt_aes_host_working_key(struct dukpt_aes_host *h, const uint8_t ksn[static DUKPT_AES_KSN_LEN],
                               enum dukpt_aes_usage usage, enum dukpt_aes_key_type type, uint8_t *ret_key)
{
    uint8_t ik[DUKPT_AES_KEY_MAX], dk[DUKPT_AES_KEY_MAX], data8[8], wk[DUKPT_AES_KEY_MAX];
    int btype, r;
    uint32_t counter;
    if (h == NULL || ksn == NULL || ret_key == NULL)
        return MAMORI_ERR_INVAL;
    counter = dukpt_aes_ksn_counter(ksn);
    btype = dukpt_aes_type_for_len(h->bdk_len);
    if (!dukpt_aes_counter_valid(counter) || usage == DUKPT_USAGE_DERIVATION || usage == DUKPT_USAGE_INITIAL)
        return MAMORI_ERR_INVAL;
    if ((r = derive_with(h->aes, h->bdk, h->bdk_len, DUKPT_USAGE_INITIAL, (enum dukpt_aes_key_type)btype, ksn,
                         ik)) != 0 ||
        (r = chain_with(h->aes, ik, h->bdk_len, ksn, dk)) != 0)
        goto out;
    put_data(data8, ksn, counter);
    if ((r = derive_with(h->aes, dk, h->bdk_len, usage, type, data8, wk)) != 0)
        goto out;
    memcpy(ret_key, wk, dukpt_aes_key_len(type));
out:
    secmem_wipe(ik, sizeof(ik));
    secmem_wipe(dk, sizeof(dk));
    secmem_wipe(wk, sizeof(wk));
    return r;
}

/* ---- device side ---- */

#define STATE_MAGIC "DKA1"

struct dukpt_regs {
    uint8_t reg[DUKPT_AES_REGISTERS][DUKPT_AES_KEY_MAX];
    uint8_t cur[DUKPT_AES_KEY_MAX];
};

struct dukpt_aes_device {
    uint8_t ikid[DUKPT_AES_IKID_LEN];
    enum dukpt_aes_key_type type;
    size_t key_len;
    uint32_t counter;    /* current transaction (0 = none yet) */
    uint32_t valid;      /* bit i: register i holds a key */
    bool has_cur;
    struct dukpt_regs *k; /* secmem, no-access while idle */
    struct aesblk *aes;
};

static int device_alloc(const uint8_t ikid[static DUKPT_AES_IKID_LEN], size_t key_len,
                        struct dukpt_aes_device **ret)
{
    int type = dukpt_aes_type_for_len(key_len);
    struct dukpt_aes_device *d;
    int r;
    if (type < 0)
        return MAMORI_ERR_INVAL;
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return MAMORI_ERR_NOMEM;
    memcpy(d->ikid, ikid, DUKPT_AES_IKID_LEN);
    d->type = (enum dukpt_aes_key_type)type;
    d->key_len = key_len;
    if ((d->k = secmem_new(sizeof(*d->k))) == NULL) {
        dukpt_aes_device_free(d);
        return MAMORI_ERR_NOMEM;
    }
    if ((r = aesblk_new(AESBLK_AUTO, &d->aes)) != 0) {
        dukpt_aes_device_free(d);
        return r;
    }
    *ret = d;
    return 0;
}

size_t dukpt_aes_device_key_len(const struct dukpt_aes_device *d)
{
    return d->key_len;
}

void dukpt_aes_device_ksn(const struct dukpt_aes_device *d, uint8_t ret_ksn[static DUKPT_AES_KSN_LEN])
{
    memcpy(ret_ksn, d->ikid, DUKPT_AES_IKID_LEN);
    ret_ksn[8] = (uint8_t)(d->counter >> 24);
    ret_ksn[9] = (uint8_t)(d->counter >> 16);
    ret_ksn[10] = (uint8_t)(d->counter >> 8);
    ret_ksn[11] = (uint8_t)d->counter;
}

/* Derive register j from key for counter c (data = derivation ID || c). */
static int fill_register(struct dukpt_aes_device *d, const uint8_t *key, int j, uint32_t c)
{
    uint8_t ksn[DUKPT_AES_KSN_LEN], data8[8];
    int r;
    dukpt_aes_device_ksn(d, ksn);
    put_data(data8, ksn, c);
    if ((r = derive_with(d->aes, key, d->key_len, DUKPT_USAGE_DERIVATION, d->type, data8, d->k->reg[j])) != 0)
        return r;
    d->valid |= 1u << j;
    return 0;
}

int dukpt_aes_device_load(const uint8_t *ik, size_t ik_len, const uint8_t ikid[static DUKPT_AES_IKID_LEN],
                          struct dukpt_aes_device **ret)
{
    struct dukpt_aes_device *d = NULL;
    int r;
    if (ik == NULL || ikid == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = device_alloc(ikid, ik_len, &d)) != 0)
        return r;
    /* The initial key yields one register per counter bit; then it is not kept. */
    for (int j = 0; j < DUKPT_AES_REGISTERS; j++) {
        if ((r = fill_register(d, ik, j, 1u << j)) != 0) {
            dukpt_aes_device_free(d);
            return r;
        }
    }
    secmem_lock(d->k);
    *ret = d;
    return 0;
}

void dukpt_aes_device_free(struct dukpt_aes_device *d)
{
    if (d == NULL)
        return;
    if (d->k != NULL) {
        secmem_write(d->k);
        secmem_free(d->k);
    }
    aesblk_free(d->aes);
    secmem_wipe(d, sizeof(*d));
    free(d);
}

int dukpt_aes_device_next(struct dukpt_aes_device *d, uint8_t ret_ksn[static DUKPT_AES_KSN_LEN])
{
    uint32_t n;
    int r = 0;
    if (d == NULL || ret_ksn == NULL)
        return MAMORI_ERR_INVAL;
    if (d->counter == 0)
        n = 1;
    else if (__builtin_popcount(d->counter) < DUKPT_AES_MAX_BITS)
        n = d->counter + 1;
    else
        n = d->counter + (d->counter & (~d->counter + 1)); /* skip counters with too many bits */
    if (n == 0 || n <= d->counter)
        return MAMORI_ERR_LIMIT; /* counter space exhausted: re-inject */
    int k = __builtin_ctz(n);
    if (!(d->valid & (1u << k)))
        return MAMORI_ERR_STATE;
    secmem_write(d->k);
    memcpy(d->k->cur, d->k->reg[k], d->key_len);
    d->counter = n;
    d->has_cur = true;
    /* Future keys: every counter n | 1<<j below the lowest set bit, while the
     * bit limit allows one more; then the used register is erased, so the
     * device keeps nothing from which this transaction's key follows. */
    if (__builtin_popcount(n) < DUKPT_AES_MAX_BITS) {
        for (int j = 0; j < k; j++)
            if ((r = fill_register(d, d->k->cur, j, n | (1u << j))) != 0)
                break;
    }
    secmem_wipe(d->k->reg[k], sizeof(d->k->reg[k]));
    d->valid &= ~(1u << k);
    secmem_lock(d->k);
    if (r != 0) {
        d->has_cur = false;
        return r;
    }
    dukpt_aes_device_ksn(d, ret_ksn);
    return 0;
}

int dukpt_aes_device_working_key(struct dukpt_aes_device *d, enum dukpt_aes_usage usage,
                                 enum dukpt_aes_key_type type, uint8_t *ret_key)
{
    uint8_t ksn[DUKPT_AES_KSN_LEN], data8[8], wk[DUKPT_AES_KEY_MAX];
    int r;
    if (d == NULL || ret_key == NULL || usage == DUKPT_USAGE_DERIVATION || usage == DUKPT_USAGE_INITIAL)
        return MAMORI_ERR_INVAL;
    if (!d->has_cur)
        return MAMORI_ERR_STATE;
    dukpt_aes_device_ksn(d, ksn);
    put_data(data8, ksn, d->counter);
    secmem_read(d->k);
    r = derive_with(d->aes, d->k->cur, d->key_len, usage, type, data8, wk);
    secmem_lock(d->k);
    if (r == 0)
        memcpy(ret_key, wk, dukpt_aes_key_len(type));
    secmem_wipe(wk, sizeof(wk));
    return r;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dukpt_aes_device_save(const struct dukpt_aes_device *d, uint8_t out[static DUKPT_AES_STATE_LEN])
{
    if (d == NULL || out == NULL)
        return MAMORI_ERR_INVAL;
    memcpy(out, STATE_MAGIC, 4);
    out[4] = (uint8_t)d->key_len;
    memcpy(out + 5, d->ikid, DUKPT_AES_IKID_LEN);
    put32(out + 13, d->counter);
    put32(out + 17, d->valid);
    secmem_read(d->k);
    memcpy(out + 21, d->k->reg, sizeof(d->k->reg));
    secmem_lock(d->k);
    return 0;
}

int dukpt_aes_device_restore(const uint8_t *blob, size_t blob_len, struct dukpt_aes_device **ret)
{
    struct dukpt_aes_device *d = NULL;
    int r;
    if (blob == NULL || ret == NULL || blob_len != DUKPT_AES_STATE_LEN || memcmp(blob, STATE_MAGIC, 4) != 0)
        return MAMORI_ERR_INVAL;
    if ((r = device_alloc(blob + 5, blob[4], &d)) != 0)
        return r;
    d->counter = get32(blob + 13);
    d->valid = get32(blob + 17);
    if (d->counter != 0 && !dukpt_aes_counter_valid(d->counter)) {
        dukpt_aes_device_free(d);
        return MAMORI_ERR_INVAL;
    }
    secmem_write(d->k);
    memcpy(d->k->reg, blob + 21, sizeof(d->k->reg));
    secmem_lock(d->k);
    *ret = d;
    return 0;
}
