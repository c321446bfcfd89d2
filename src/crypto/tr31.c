/*
 * tr31.c: owns TR-31 / X9.143 key block parsing, unwrapping (A, B, C, D, and
 * ISO 20038 E) and version D wrapping. Owns no long-lived keys: KBEK/KBAK and plaintext
 * payloads live in guarded memory for one call and are wiped.
 *
 * Order matters in tr31_unwrap: the layout is checked completely before any
 * key is derived; for A/C the MAC over the ciphertext is checked before
 * decryption; for B/D/E nothing of the decrypted payload (not even its length
 * field) is read before the MAC over it has verified.
 */
#include "crypto/tr31.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/secmem.h"
#include "crypto/symm.h"
#include "mamori/err.h"

static bool is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* key blocks use upper-case hex only */
}

/* Read n characters of decimal digits as a number. */
static int get_dec(struct buf *b, size_t n, size_t *ret)
{
    const uint8_t *p;
    size_t v = 0;
    int r;
    if ((r = buf_get_ptr(b, n, &p)) != 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return MAMORI_ERR_INVAL;
        v = v * 10 + (size_t)(p[i] - '0');
    }
    *ret = v;
    return 0;
}

/* Read n (<= 4) characters of upper-case hex as a number. */
static int get_hexnum(struct buf *b, size_t n, size_t *ret)
{
    const uint8_t *p;
    size_t v = 0;
    int r;
    if (n == 0 || n > 4)
        return MAMORI_ERR_INVAL;
    if ((r = buf_get_ptr(b, n, &p)) != 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return MAMORI_ERR_INVAL;
        v = v * 16 + (size_t)h;
    }
    *ret = v;
    return 0;
}

/* Read n alphanumeric characters into out (NUL-terminated). */
static int get_alnum(struct buf *b, size_t n, char *out)
{
    const uint8_t *p;
    int r;
    if ((r = buf_get_ptr(b, n, &p)) != 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(p[i]))
            return MAMORI_ERR_INVAL;
        out[i] = (char)p[i];
    }
    out[n] = '\0';
    return 0;
}

static size_t block_size(char version)
{
    return version == 'D' || version == 'E' ? 16 : 8;
}

static size_t mac_size(char version)
{
    switch (version) {
    case 'A': case 'C': return 4;
    case 'B': return 8;
    default: return 16;
    }
}

/* One optional block; b views the whole key block, so b->off is the offset in it. */
static int parse_opt(struct buf *b, struct tr31_opt *o)
{
    size_t start = b->off, len, hdr = 4;
    int r;
    if ((r = get_alnum(b, 2, o->id)) != 0 || (r = get_hexnum(b, 2, &len)) != 0)
        return r;
    if (len == 0) { /* extended length: 2 hex digits of length-of-length, then the length */
        size_t lol;
        if ((r = get_hexnum(b, 2, &lol)) != 0 || (r = get_hexnum(b, lol, &len)) != 0)
            return r;
        hdr += 2 + lol;
    }
    if (len < hdr)
        return MAMORI_ERR_INVAL;
    const uint8_t *p;
    if ((r = buf_get_ptr(b, len - hdr, &p)) != 0)
        return r;
    for (size_t i = 0; i < len - hdr; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return MAMORI_ERR_INVAL;
    o->off = start + hdr;
    o->len = len - hdr;
    return 0;
}

int tr31_header_parse(const char *kb, size_t kb_len, struct tr31_header *ret_h)
{
    struct buf b;
    struct tr31_header h;
    uint8_t v;
    char reserved[3], one[2];
    size_t nopt;
    int r;
    if (kb == NULL || ret_h == NULL)
        return MAMORI_ERR_INVAL;
    if (kb_len > TR31_MAX_LEN)
        return MAMORI_ERR_TOOBIG;
    memset(&h, 0, sizeof(h));
    buf_view(&b, kb, kb_len);
    if ((r = buf_get_u8(&b, &v)) != 0)
        return r;
    if (v != 'A' && v != 'B' && v != 'C' && v != 'D' && v != 'E')
        return MAMORI_ERR_INVAL;
    h.version = (char)v;
    if ((r = get_dec(&b, 4, &h.length)) != 0 || (r = get_alnum(&b, 2, h.usage)) != 0 ||
        (r = get_alnum(&b, 1, one)) != 0)
        return r;
    h.algorithm = one[0];
    if ((r = get_alnum(&b, 1, one)) != 0)
        return r;
    h.mode = one[0];
    if ((r = get_alnum(&b, 2, h.key_version)) != 0 || (r = get_alnum(&b, 1, one)) != 0)
        return r;
    h.exportability = one[0];
    if ((r = get_dec(&b, 2, &nopt)) != 0 || (r = get_alnum(&b, 2, reserved)) != 0)
        return r;
    if (h.length != kb_len || !is_digit((uint8_t)reserved[0]) || !is_digit((uint8_t)reserved[1]))
        return MAMORI_ERR_INVAL;
    if (nopt > TR31_OPT_MAX)
        return MAMORI_ERR_TOOBIG;
    h.nopt = (unsigned)nopt;
    for (size_t i = 0; i < nopt; i++)
        if ((r = parse_opt(&b, &h.opt[i])) != 0)
            return r;
    h.header_len = kb_len - buf_remaining(&b);
    size_t bs = block_size(h.version), mac_hex = 2 * mac_size(h.version);
    size_t rest = buf_remaining(&b);
    if (rest <= mac_hex)
        return MAMORI_ERR_INVAL;
    h.payload_hex = rest - mac_hex;
    if (h.version == 'E') {
        /* CTR mode: no block alignment; at least the length field and one byte */
        if (h.payload_hex % 2 != 0 || h.payload_hex < 6)
            return MAMORI_ERR_INVAL;
    } else if (h.header_len % bs != 0 || h.payload_hex % (2 * bs) != 0) {
        return MAMORI_ERR_INVAL;
    }
    const uint8_t *p;
    if ((r = buf_get_ptr(&b, rest, &p)) != 0)
        return r;
    for (size_t i = 0; i < rest; i++)
        if (hexval(p[i]) < 0)
            return MAMORI_ERR_INVAL;
    if ((r = buf_end(&b)) != 0)
        return r;
    h.mac_len = mac_size(h.version);
    *ret_h = h;
    return 0;
}

int tr31_header_opt(const struct tr31_header *h, const char *kb, const char *id, const char **ret_data,
                    size_t *ret_len)
{
    if (h == NULL || kb == NULL || id == NULL || ret_data == NULL || ret_len == NULL)
        return MAMORI_ERR_INVAL;
    for (unsigned i = 0; i < h->nopt; i++) {
        if (strcmp(h->opt[i].id, id) == 0) {
            *ret_data = kb + h->opt[i].off;
            *ret_len = h->opt[i].len;
            return 0;
        }
    }
    return MAMORI_ERR_NOTFOUND;
}

static bool kbpk_len_ok(char version, size_t n)
{
    switch (version) {
    case 'A': case 'C': return n == 8 || n == 16 || n == 24;
    case 'B': return n == 16 || n == 24;
    case 'D': case 'E': return n == 16 || n == 24 || n == 32;
    default: return false;
    }
}

/* CMAC-based derivation (B: TDES, D: AES): for i = 1..: CMAC(kbpk, i || usage
 * || 00 || algorithm || bits), concatenated and cut to kbpk_len. */
static int derive_cmac(enum symm_alg alg, const uint8_t *kbpk, size_t n, uint16_t usage, uint8_t *out)
{
    uint8_t d[8], blk[16], acc[48];
    size_t bs = symm_block(alg), got = 0;
    uint16_t algind, bits = (uint16_t)(n * 8);
    int r = 0;
    if (alg == SYMM_TDES)
        algind = n == 16 ? 0x0000 : 0x0001;
    else
        algind = n == 16 ? 0x0002 : n == 24 ? 0x0003 : 0x0004;
    for (uint8_t i = 1; got < n; i++) {
        d[0] = i;
        d[1] = (uint8_t)(usage >> 8);
        d[2] = (uint8_t)usage;
        d[3] = 0;
        d[4] = (uint8_t)(algind >> 8);
        d[5] = (uint8_t)algind;
        d[6] = (uint8_t)(bits >> 8);
        d[7] = (uint8_t)bits;
        if ((r = symm_cmac(alg, kbpk, n, d, sizeof(d), blk)) != 0)
            break;
        memcpy(acc + got, blk, bs);
        got += bs;
    }
    if (r == 0)
        memcpy(out, acc, n);
    secmem_wipe(acc, sizeof(acc));
    secmem_wipe(blk, sizeof(blk));
    return r;
}

int tr31_derive_keys(char version, const uint8_t *kbpk, size_t kbpk_len, uint8_t *ret_kbek, uint8_t *ret_kbak)
{
    int r;
    if (kbpk == NULL || ret_kbek == NULL || ret_kbak == NULL || !kbpk_len_ok(version, kbpk_len))
        return MAMORI_ERR_INVAL;
    switch (version) {
    case 'A':
    case 'C':
        for (size_t i = 0; i < kbpk_len; i++) {
            ret_kbek[i] = kbpk[i] ^ 0x45;
            ret_kbak[i] = kbpk[i] ^ 0x4d;
        }
        return 0;
    case 'B':
    case 'D':
    case 'E': {
        enum symm_alg alg = version == 'B' ? SYMM_TDES : SYMM_AES;
        uint16_t enc_usage = version == 'E' ? 0x0002 : 0x0000; /* ISO 20038: 0002 = encryption, CTR */
        uint8_t e[32], a[32];
        if ((r = derive_cmac(alg, kbpk, kbpk_len, enc_usage, e)) == 0 &&
            (r = derive_cmac(alg, kbpk, kbpk_len, 0x0001, a)) == 0) {
            memcpy(ret_kbek, e, kbpk_len);
            memcpy(ret_kbak, a, kbpk_len);
        }
        secmem_wipe(e, sizeof(e));
        secmem_wipe(a, sizeof(a));
        return r;
    }
    default:
        return MAMORI_ERR_INVAL;
    }
}

static void unhex(const char *s, size_t nbytes, uint8_t *out)
{
    for (size_t i = 0; i < nbytes; i++)
        out[i] = (uint8_t)(hexval((uint8_t)s[2 * i]) << 4 | hexval((uint8_t)s[2 * i + 1]));
}

/* Key lengths the algorithm allows; other algorithms (RSA, EC, HMAC) any. */
static bool key_len_ok(char algorithm, size_t n)
{
    switch (algorithm) {
    case 'A': return n == 16 || n == 24 || n == 32;
    case 'T': return n == 8 || n == 16 || n == 24;
    case 'D': return n == 8;
    default: return n > 0;
    }
}

void tr31_key_free(uint8_t *key)
{
    secmem_free(key);
}

int tr31_unwrap(const uint8_t *kbpk, size_t kbpk_len, const char *kb, size_t kb_len, struct tr31_header *ret_h,
                uint8_t **ret_key, size_t *ret_key_len)
{
    struct tr31_header h;
    uint8_t *keys = NULL, *ct = NULL, *macin = NULL, *key = NULL, mac[16], mymac[16];
    size_t plen, klen;
    int r;
    if (kbpk == NULL || ret_h == NULL || ret_key == NULL || ret_key_len == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = tr31_header_parse(kb, kb_len, &h)) != 0)
        return r;
    if (!kbpk_len_ok(h.version, kbpk_len))
        return MAMORI_ERR_INVAL;
    plen = h.payload_hex / 2;
    enum symm_alg alg = h.version == 'D' || h.version == 'E' ? SYMM_AES : SYMM_TDES;
    /* keys: KBEK || KBAK in guarded memory; macin: header || payload (plain for B/D) */
    if ((keys = secmem_new(2 * TR31_KBPK_MAX)) == NULL || (ct = malloc(plen)) == NULL ||
        (macin = secmem_new(h.header_len + plen)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    uint8_t *kbek = keys, *kbak = keys + TR31_KBPK_MAX;
    if ((r = tr31_derive_keys(h.version, kbpk, kbpk_len, kbek, kbak)) != 0)
        goto out;
    unhex(kb + h.header_len, plen, ct);
    unhex(kb + h.header_len + h.payload_hex, h.mac_len, mac);
    memcpy(macin, kb, h.header_len);
    uint8_t *plain = macin + h.header_len;
    if (h.version == 'A' || h.version == 'C') {
        uint8_t iv[8];
        memcpy(plain, ct, plen); /* MAC over header || ciphertext first */
        if ((r = symm_cbc_mac(SYMM_TDES, kbak, kbpk_len, macin, h.header_len + plen, mymac)) != 0)
            goto out;
        if (!secmem_eq(mac, mymac, h.mac_len)) {
            r = MAMORI_ERR_AUTH;
            goto out;
        }
        memcpy(iv, kb, 8); /* IV: the first 8 header characters */
        if ((r = symm_crypt(SYMM_TDES, 0, kbek, kbpk_len, iv, ct, plain, plen)) != 0)
            goto out;
    } else {
        /* The MAC is the IV and covers the plaintext: decrypt, then verify. */
        if (h.version == 'E')
            r = symm_aes_ctr(kbek, kbpk_len, mac, ct, plain, plen);
        else
            r = symm_crypt(alg, 0, kbek, kbpk_len, mac, ct, plain, plen);
        if (r != 0 ||
            (r = symm_cmac(alg, kbak, kbpk_len, macin, h.header_len + plen, mymac)) != 0)
            goto out;
        if (!secmem_eq(mac, mymac, h.mac_len)) {
            r = MAMORI_ERR_AUTH;
            goto out;
        }
    }
    /* Authenticated: now the payload may be read. */
    size_t bits = (size_t)plain[0] << 8 | plain[1];
    klen = bits / 8;
    if (bits == 0 || bits % 8 != 0 || klen > plen - 2 || klen > TR31_KEY_MAX || !key_len_ok(h.algorithm, klen)) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((key = secmem_new(klen)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    memcpy(key, plain + 2, klen);
    *ret_h = h;
    *ret_key = key;
    *ret_key_len = klen;
    key = NULL;
    r = 0;
out:
    secmem_wipe(mymac, sizeof(mymac));
    secmem_free(keys);
    secmem_free(macin);
    secmem_free(key);
    free(ct);
    return r;
}

static const char hexdig[] = "0123456789ABCDEF";

int tr31_wrap_d(const uint8_t *kbpk, size_t kbpk_len, const struct tr31_header *h, const uint8_t *key,
                size_t key_len, char **ret_kb)
{
    uint8_t *keys = NULL, *macin = NULL, *ct = NULL, mac[16];
    char *out = NULL, hdr[TR31_HEADER_LEN + 1];
    int r;
    if (kbpk == NULL || h == NULL || key == NULL || ret_kb == NULL || !kbpk_len_ok('D', kbpk_len) ||
        key_len == 0 || key_len > TR31_KEY_MAX || !key_len_ok(h->algorithm, key_len) ||
        !is_alnum((uint8_t)h->usage[0]) || !is_alnum((uint8_t)h->usage[1]) || h->usage[2] != '\0' ||
        !is_alnum((uint8_t)h->algorithm) || !is_alnum((uint8_t)h->mode) ||
        !is_alnum((uint8_t)h->key_version[0]) || !is_alnum((uint8_t)h->key_version[1]) ||
        h->key_version[2] != '\0' || !is_alnum((uint8_t)h->exportability))
        return MAMORI_ERR_INVAL;
    size_t plen = (2 + key_len + 15) / 16 * 16;
    size_t total = TR31_HEADER_LEN + 2 * plen + 32;
    if (total > TR31_MAX_LEN)
        return MAMORI_ERR_TOOBIG;
    snprintf(hdr, sizeof(hdr), "D%04zu%s%c%c%s%c0000", total, h->usage, h->algorithm, h->mode, h->key_version,
             h->exportability);
    if ((keys = secmem_new(2 * TR31_KBPK_MAX)) == NULL || (macin = secmem_new(TR31_HEADER_LEN + plen)) == NULL ||
        (ct = malloc(plen)) == NULL || (out = malloc(total + 1)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    uint8_t *kbek = keys, *kbak = keys + TR31_KBPK_MAX, *plain = macin + TR31_HEADER_LEN;
    memcpy(macin, hdr, TR31_HEADER_LEN);
    plain[0] = (uint8_t)((key_len * 8) >> 8);
    plain[1] = (uint8_t)(key_len * 8);
    memcpy(plain + 2, key, key_len);
    randombytes_buf(plain + 2 + key_len, plen - 2 - key_len);
    if ((r = tr31_derive_keys('D', kbpk, kbpk_len, kbek, kbak)) != 0 ||
        (r = symm_cmac(SYMM_AES, kbak, kbpk_len, macin, TR31_HEADER_LEN + plen, mac)) != 0 ||
        (r = symm_crypt(SYMM_AES, 1, kbek, kbpk_len, mac, plain, ct, plen)) != 0)
        goto out;
    memcpy(out, hdr, TR31_HEADER_LEN);
    for (size_t i = 0; i < plen; i++) {
        out[TR31_HEADER_LEN + 2 * i] = hexdig[ct[i] >> 4];
        out[TR31_HEADER_LEN + 2 * i + 1] = hexdig[ct[i] & 15];
    }
    for (size_t i = 0; i < 16; i++) {
        out[TR31_HEADER_LEN + 2 * plen + 2 * i] = hexdig[mac[i] >> 4];
        out[TR31_HEADER_LEN + 2 * plen + 2 * i + 1] = hexdig[mac[i] & 15];
    }
    out[total] = '\0';
    *ret_kb = out;
    out = NULL;
    r = 0;
out:
    secmem_free(keys);
    secmem_free(macin);
    free(ct);
    free(out);
    return r;
}
