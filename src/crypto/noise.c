/*
 * noise.c: the Noise Protocol Framework (revision 34) for the device bus:
 * Noise_XX and Noise_KK over 25519 / ChaChaPoly / BLAKE2b.
 *
 * Owns: the symmetric state (h, ck, k, n), HMAC-BLAKE2b and HKDF (spec §4.3,
 * RFC 2104 built on plain unkeyed BLAKE2b: libsodium's keyed BLAKE2b is not
 * HMAC), token processing for the two patterns, Split, the transport cipher
 * states with Rekey (§11.3), and the guarded memory slots that hold every
 * secret this module creates (ephemeral private keys, ck, k, DH outputs,
 * HKDF temporaries, transport keys): one slot per handshake side, reused for
 * that side's two transport keys after Split, wiped and recycled on free.
 *
 * Must not own: the static private key (every static DH goes through
 * keys_dh()), framing, transports, rekey policy, or any logging.
 *
 * Fail closed: any error during the handshake wipes its secrets and leaves the
 * state dead, so a caller that ignores an error cannot continue with a
 * half-authenticated peer.
 */
#include "crypto/noise.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/secmem.h"
#include "mamori/err.h"

#define NOISE_BLOCKLEN 128          /* BLAKE2b block length (HMAC padding) */
#define NOISE_KEYLEN 32             /* ChaChaPoly key */
#define NOISE_NONCELEN 12           /* IETF ChaCha20-Poly1305 nonce */
#define NOISE_NONCE_RESERVED UINT64_MAX /* §5.1: 2^64-1 is never used by Encrypt/Decrypt */
#define NOISE_MAX_PROLOGUE 4096     /* limit on a caller's prologue */
#define NOISE_MAX_TOKENS 4          /* longest token list in XX/KK */
#define NOISE_MAX_MESSAGES 3        /* XX has three handshake messages */

/* ---------------------------------------------------------------------- */
/* Guarded slots.
 *
 * Every secret lives in a slot: its own sodium_malloc() block (guard pages,
 * canary, mlock, excluded from core dumps), PROT_NONE except while this
 * module is using it (slot_open/slot_close around each access).
 *
 * sodium_malloc()/sodium_free() cost ~25 us each here (mmap, mprotect, mlock,
 * munmap), which for the six secret blocks of a handshake pair would cost
 * more than the whole protocol budget of the KK handshake (bench/bench_noise.c).
 * So released slots are wiped and kept, still PROT_NONE, in a small free
 * list and reused; only the per-access toggles of one page remain. Beyond
 * NOISE_SLOT_CACHE idle slots, a release really frees. */

#define NOISE_SLOT_SIZE 1024 /* one page: toggling it touches one PTE */
#define NOISE_SLOT_CACHE 64  /* idle slots kept for reuse */

static struct {
    pthread_mutex_t mu;
    void *idle[NOISE_SLOT_CACHE];
    size_t n;
} slot_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void slot_open(void *p)
{
    if (p != NULL)
        sodium_mprotect_readwrite(p);
}

static void slot_close(void *p)
{
    if (p != NULL)
        sodium_mprotect_noaccess(p);
}

/* A closed (PROT_NONE) secret slot, or NULL when out of memory. Its
 * contents are unspecified: every user writes a field before reading it. */
static void *slot_new(void)
{
    void *p = NULL;
    if (secmem_init() != 0)
        return NULL;
    pthread_mutex_lock(&slot_cache.mu);
    if (slot_cache.n > 0)
        p = slot_cache.idle[--slot_cache.n];
    pthread_mutex_unlock(&slot_cache.mu);
    if (p == NULL && (p = sodium_malloc(NOISE_SLOT_SIZE)) != NULL)
        slot_close(p);
    return p;
}

/* Wipe and release a slot. open: the caller currently holds it open. NULL-safe. */
static void slot_free(void *p, bool open)
{
    if (p == NULL)
        return;
    if (!open)
        slot_open(p);
    sodium_memzero(p, NOISE_SLOT_SIZE);
    slot_close(p);
    pthread_mutex_lock(&slot_cache.mu);
    if (slot_cache.n < NOISE_SLOT_CACHE) {
        slot_cache.idle[slot_cache.n++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&slot_cache.mu);
    sodium_free(p); /* NULL-safe; wipes again */
}

/* ---------------------------------------------------------------------- */
/* Hash, HMAC, HKDF (spec §4.3, §5.2). */

/* Scratch for HMAC, kept in the caller's guarded slot so no key-derived
 * bytes land on the stack except the BLAKE2b state, which is wiped. */
struct hmac_scratch {
    uint8_t pad[NOISE_BLOCKLEN];
    uint8_t inner[NOISE_HASHLEN];
};

static void hash2(uint8_t out[NOISE_HASHLEN], const uint8_t *a, size_t an, const uint8_t *b,
                  size_t bn)
{
    crypto_generichash_blake2b_state st;
    crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASHLEN);
    crypto_generichash_blake2b_update(&st, a, an);
    if (bn > 0)
        crypto_generichash_blake2b_update(&st, b, bn);
    crypto_generichash_blake2b_final(&st, out, NOISE_HASHLEN);
    sodium_memzero(&st, sizeof(st));
}

/* HMAC-BLAKE2b(key, d1 || d2) per RFC 2104; key is HASHLEN bytes (always so
 * in Noise: ck or an HKDF temp key), which is <= BLOCKLEN so it is only padded.
 * out may alias key. */
static void hmac(uint8_t out[NOISE_HASHLEN], const uint8_t key[NOISE_HASHLEN], const uint8_t *d1,
                 size_t n1, const uint8_t *d2, size_t n2, struct hmac_scratch *s)
{
    crypto_generichash_blake2b_state st;
    memset(s->pad, 0x36, sizeof(s->pad));
    for (size_t i = 0; i < NOISE_HASHLEN; i++)
        s->pad[i] ^= key[i];
    crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASHLEN);
    crypto_generichash_blake2b_update(&st, s->pad, sizeof(s->pad));
    if (n1 > 0)
        crypto_generichash_blake2b_update(&st, d1, n1);
    if (n2 > 0)
        crypto_generichash_blake2b_update(&st, d2, n2);
    crypto_generichash_blake2b_final(&st, s->inner, NOISE_HASHLEN);
    memset(s->pad, 0x5c, sizeof(s->pad));
    for (size_t i = 0; i < NOISE_HASHLEN; i++)
        s->pad[i] ^= key[i];
    crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASHLEN);
    crypto_generichash_blake2b_update(&st, s->pad, sizeof(s->pad));
    crypto_generichash_blake2b_update(&st, s->inner, NOISE_HASHLEN);
    crypto_generichash_blake2b_final(&st, out, NOISE_HASHLEN);
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(s, sizeof(*s));
}

/* HKDF(ck, ikm, 2): out1, out2 (the only arity XX/KK need). */
struct hkdf_scratch {
    struct hmac_scratch hm;
    uint8_t temp[NOISE_HASHLEN];
};

static void hkdf2(const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm, size_t ikm_len,
                  uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN], struct hkdf_scratch *s)
{
    static const uint8_t one = 0x01, two = 0x02;
    hmac(s->temp, ck, ikm, ikm_len, NULL, 0, &s->hm);
    hmac(out1, s->temp, &one, 1, NULL, 0, &s->hm);
    hmac(out2, s->temp, out1, NOISE_HASHLEN, &two, 1, &s->hm);
    sodium_memzero(s->temp, sizeof(s->temp));
}

/* ENCRYPT(k, n, ad, plaintext) / DECRYPT (§5.1, ChaChaPoly: nonce = 32 zero
 * bits || little-endian n). out may equal in. */
static void nonce_bytes(uint8_t nonce[NOISE_NONCELEN], uint64_t n)
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

static int aead_encrypt(const uint8_t k[NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t ad_len,
                        const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    uint8_t nonce[NOISE_NONCELEN];
    nonce_bytes(nonce, n);
    return crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, pt_len, ad, ad_len, NULL, nonce,
                                                     k) == 0
               ? 0
               : MAMORI_ERR_CRYPTO;
}

static int aead_decrypt(const uint8_t k[NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t ad_len,
                        const uint8_t *ct, size_t ct_len, uint8_t *out)
{
    uint8_t nonce[NOISE_NONCELEN];
    nonce_bytes(nonce, n);
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, ct_len, ad, ad_len, nonce,
                                                     k) == 0
               ? 0
               : MAMORI_ERR_AUTH;
}

/* ---------------------------------------------------------------------- */
/* Patterns (§7.5) as token lists. */

enum noise_token { TOK_END = 0, TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE, TOK_SS };

struct noise_pattern_def {
    const char *protocol_name;
    bool pre_initiator_s; /* "-> s" pre-message */
    bool pre_responder_s; /* "<- s" pre-message */
    int messages;
    enum noise_token tokens[NOISE_MAX_MESSAGES][NOISE_MAX_TOKENS + 1];
};

static const struct noise_pattern_def noise_patterns[] = {
    [NOISE_XX] = {"Noise_XX_25519_ChaChaPoly_BLAKE2b", false, false, 3,
                  {{TOK_E}, {TOK_E, TOK_EE, TOK_S, TOK_ES}, {TOK_S, TOK_SE}}},
    [NOISE_KK] = {"Noise_KK_25519_ChaChaPoly_BLAKE2b", true, true, 2,
                  {{TOK_E, TOK_ES, TOK_SS}, {TOK_E, TOK_EE, TOK_SE}}},
};

/* ---------------------------------------------------------------------- */
/* Handshake state. */

/* One direction's transport key (and Rekey scratch). */
struct cs_secret {
    uint8_t k[NOISE_KEYLEN];
    uint8_t tmp[NOISE_KEYLEN + NOISE_TAGLEN];
};

/* The secrets of one handshake, in a guarded slot. At Split the same slot
 * receives both transport keys (out[]) and everything else in it is wiped:
 * one slot per session side, no second allocation, no extra toggles. */
struct hs_secret {
    uint8_t ck[NOISE_HASHLEN];
    uint8_t k[NOISE_KEYLEN];
    uint8_t e[NOISE_DHLEN];  /* ephemeral private key */
    uint8_t dh[NOISE_DHLEN]; /* DH output */
    uint8_t t1[NOISE_HASHLEN], t2[NOISE_HASHLEN];
    struct hkdf_scratch kdf;
    struct cs_secret out[2]; /* after Split: [0] initiator->responder, [1] back */
};

struct noise_hs {
    const struct noise_pattern_def *def;
    enum noise_role role;
    struct keys *local;          /* borrowed */
    struct hs_secret *sec;       /* guarded slot; NULL once wiped */
    uint8_t h[NOISE_HASHLEN];    /* handshake hash (public: channel binding) */
    uint8_t s_pub[NOISE_DHLEN];  /* our static public key */
    uint8_t e_pub[NOISE_DHLEN];  /* our ephemeral public key */
    uint8_t re[NOISE_DHLEN];     /* peer ephemeral */
    uint8_t rs[NOISE_DHLEN];     /* peer static */
    uint64_t n;                  /* handshake cipher nonce */
    int msg;                     /* index of the next handshake message */
    bool has_k, has_e, has_re, has_rs, e_fixed, dead, split;
    bool ck_ready;               /* ck set in the slot (first access) */
};

/*
 * A transport cipher state. The two of one Split share their slot (siblings);
 * the slot is read-only for the whole session (the key is read by every
 * message, so PROT_NONE toggles there would cost ~4 us a message for no
 * gain) and writable only inside Rekey and free. Sibling links and those
 * writes are under slot_cache.mu.
 */
struct noise_cs {
    struct hs_secret *slot;  /* shared guarded slot */
    struct cs_secret *sec;   /* our half of it */
    struct noise_cs *sibling; /* the other direction, while alive */
    uint64_t n;
    uint64_t since_rekey;
};

_Static_assert(sizeof(struct hs_secret) <= NOISE_SLOT_SIZE, "hs secret fits a slot");

/* Open the handshake's slot; on the first access set ck = the initial h
 * (the zero-padded protocol name, §5.2 InitializeSymmetric). */
static void hs_open(struct noise_hs *hs)
{
    slot_open(hs->sec);
    if (!hs->ck_ready) {
        memset(hs->sec->ck, 0, NOISE_HASHLEN);
        memcpy(hs->sec->ck, hs->def->protocol_name, strlen(hs->def->protocol_name));
        hs->ck_ready = true;
    }
}

static void mix_hash(struct noise_hs *hs, const uint8_t *d, size_t n)
{
    hash2(hs->h, hs->h, NOISE_HASHLEN, d, n);
}

/* MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); k = temp_k[:32]; n = 0. */
static void mix_key(struct noise_hs *hs, const uint8_t *ikm, size_t n)
{
    struct hs_secret *s = hs->sec;
    hkdf2(s->ck, ikm, n, s->t1, s->t2, &s->kdf);
    memcpy(s->ck, s->t1, NOISE_HASHLEN);
    memcpy(s->k, s->t2, NOISE_KEYLEN);
    sodium_memzero(s->t1, sizeof(s->t1));
    sodium_memzero(s->t2, sizeof(s->t2));
    hs->has_k = true;
    hs->n = 0;
}

/* EncryptAndHash: out gets len (+ TAGLEN once a key exists); out may not
 * partially overlap pt. */
static int encrypt_and_hash(struct noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out,
                            size_t *ret_len)
{
    int r;
    if (!hs->has_k) {
        if (len > 0 && out != pt)
            memmove(out, pt, len);
        mix_hash(hs, out, len);
        *ret_len = len;
        return 0;
    }
    if (hs->n == NOISE_NONCE_RESERVED)
        return MAMORI_ERR_LIMIT;
    if ((r = aead_encrypt(hs->sec->k, hs->n, hs->h, NOISE_HASHLEN, pt, len, out)))
        return r;
    hs->n++;
    mix_hash(hs, out, len + NOISE_TAGLEN);
    *ret_len = len + NOISE_TAGLEN;
    return 0;
}

/* DecryptAndHash: the hash of the ciphertext is taken before decrypting, so
 * out may equal ct. */
static int decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t len, uint8_t *out,
                            size_t *ret_len)
{
    uint8_t h_next[NOISE_HASHLEN];
    int r;
    hash2(h_next, hs->h, NOISE_HASHLEN, ct, len);
    if (!hs->has_k) {
        if (len > 0 && out != ct)
            memmove(out, ct, len);
        *ret_len = len;
    } else {
        if (len < NOISE_TAGLEN)
            return MAMORI_ERR_AUTH;
        if (hs->n == NOISE_NONCE_RESERVED)
            return MAMORI_ERR_LIMIT;
        if ((r = aead_decrypt(hs->sec->k, hs->n, hs->h, NOISE_HASHLEN, ct, len, out)))
            return r;
        hs->n++;
        *ret_len = len - NOISE_TAGLEN;
    }
    memcpy(hs->h, h_next, NOISE_HASHLEN);
    return 0;
}

/* Wipe the handshake secrets and mark the state dead. Caller has sec open. */
static void hs_kill(struct noise_hs *hs)
{
    hs->dead = true;
    slot_free(hs->sec, true);
    hs->sec = NULL;
    hs->has_k = false;
}

int noise_hs_new(enum noise_pattern pattern, enum noise_role role, struct keys *local,
                 const uint8_t *remote_static, const uint8_t *prologue, size_t prologue_len,
                 struct noise_hs **ret)
{
    if ((pattern != NOISE_XX && pattern != NOISE_KK) ||
        (role != NOISE_INITIATOR && role != NOISE_RESPONDER) || local == NULL || ret == NULL ||
        (prologue == NULL && prologue_len > 0) || prologue_len > NOISE_MAX_PROLOGUE)
        return MAMORI_ERR_INVAL;
    const struct noise_pattern_def *def = &noise_patterns[pattern];
    /* KK needs the pinned peer key; XX must learn it from the handshake. */
    if ((def->pre_responder_s || def->pre_initiator_s) != (remote_static != NULL))
        return MAMORI_ERR_INVAL;

    struct noise_hs *hs = calloc(1, sizeof(*hs));
    if (hs == NULL)
        return MAMORI_ERR_NOMEM;
    hs->sec = slot_new();
    if (hs->sec == NULL) {
        free(hs);
        return MAMORI_ERR_NOMEM;
    }
    hs->def = def;
    hs->role = role;
    hs->local = local;
    keys_dh_public(local, hs->s_pub);

    /* InitializeSymmetric: the protocol names are < HASHLEN, so h = name
     * zero-padded; ck = h. Then the prologue, then pre-messages in order
     * initiator's first (§5.3). */
    size_t nl = strlen(def->protocol_name);
    memcpy(hs->h, def->protocol_name, nl); /* ck = this h: set on first access */
    mix_hash(hs, prologue, prologue_len);
    if (remote_static != NULL) {
        memcpy(hs->rs, remote_static, NOISE_DHLEN);
        hs->has_rs = true;
    }
    if (def->pre_initiator_s)
        mix_hash(hs, role == NOISE_INITIATOR ? hs->s_pub : hs->rs, NOISE_DHLEN);
    if (def->pre_responder_s)
        mix_hash(hs, role == NOISE_RESPONDER ? hs->s_pub : hs->rs, NOISE_DHLEN);
    *ret = hs;
    return 0;
}

int noise_hs_set_ephemeral(struct noise_hs *hs, const uint8_t priv[static NOISE_DHLEN])
{
    if (hs == NULL || hs->dead || hs->sec == NULL)
        return MAMORI_ERR_STATE;
    if (hs->has_e)
        return MAMORI_ERR_STATE;
    hs_open(hs);
    memcpy(hs->sec->e, priv, NOISE_DHLEN);
    crypto_scalarmult_base(hs->e_pub, hs->sec->e);
    slot_close(hs->sec);
    hs->e_fixed = true;
    return 0;
}

static bool hs_my_turn(const struct noise_hs *hs)
{
    return (hs->msg % 2 == 0) == (hs->role == NOISE_INITIATOR);
}

int noise_hs_done(const struct noise_hs *hs)
{
    return hs != NULL && !hs->dead && hs->msg >= hs->def->messages;
}

int noise_hs_my_turn(const struct noise_hs *hs)
{
    return hs != NULL && !hs->dead && hs->msg < hs->def->messages && hs_my_turn(hs);
}

/* The DH a token asks for, into sec->dh, then MixKey. e is ours (ephemeral
 * private in the slot); s goes through keys_dh(). */
static int token_dh(struct noise_hs *hs, enum noise_token t)
{
    bool ours_e, theirs_e; /* which of our keys, which of theirs */
    int r;
    switch (t) {
    case TOK_EE:
        ours_e = true, theirs_e = true;
        break;
    case TOK_SS:
        ours_e = false, theirs_e = false;
        break;
    case TOK_ES: /* initiator's e with responder's s */
        ours_e = hs->role == NOISE_INITIATOR, theirs_e = hs->role != NOISE_INITIATOR;
        break;
    case TOK_SE: /* initiator's s with responder's e */
        ours_e = hs->role != NOISE_INITIATOR, theirs_e = hs->role == NOISE_INITIATOR;
        break;
    default:
        return MAMORI_ERR_INTERNAL;
    }
    if ((ours_e && !hs->has_e) || (theirs_e && !hs->has_re) || (!theirs_e && !hs->has_rs))
        return MAMORI_ERR_INTERNAL;
    const uint8_t *peer = theirs_e ? hs->re : hs->rs;
    if (ours_e)
        r = crypto_scalarmult(hs->sec->dh, hs->sec->e, peer) == 0 ? 0 : MAMORI_ERR_CRYPTO;
    else
        r = keys_dh(hs->local, hs->sec->dh, peer);
    if (r == 0)
        mix_key(hs, hs->sec->dh, NOISE_DHLEN);
    sodium_memzero(hs->sec->dh, NOISE_DHLEN);
    return r;
}

/* After the last message: the ephemeral key and DH scratch are no longer
 * needed; only ck (for Split) and h remain. */
static void hs_finish_message(struct noise_hs *hs)
{
    hs->msg++;
    if (hs->msg >= hs->def->messages) {
        sodium_memzero(hs->sec->e, NOISE_DHLEN);
        sodium_memzero(hs->sec->k, NOISE_KEYLEN);
        hs->has_k = false;
    }
}

int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t out_cap, size_t *ret_len)
{
    size_t pos = 0, n;
    int r = 0;
    if (hs == NULL)
        return MAMORI_ERR_INVAL;
    if (hs->dead || hs->sec == NULL)
        return MAMORI_ERR_STATE;
    hs_open(hs);
    if (hs->msg >= hs->def->messages || !hs_my_turn(hs)) {
        r = MAMORI_ERR_STATE;
        goto out;
    }
    if (out == NULL || ret_len == NULL || (payload == NULL && payload_len > 0) ||
        payload_len > NOISE_MAX_PAYLOAD) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    for (const enum noise_token *t = hs->def->tokens[hs->msg]; *t != TOK_END; t++) {
        switch (*t) {
        case TOK_E:
            if (out_cap - pos < NOISE_DHLEN) {
                r = MAMORI_ERR_TOOBIG;
                goto out;
            }
            if (!hs->e_fixed) {
                randombytes_buf(hs->sec->e, NOISE_DHLEN);
                crypto_scalarmult_base(hs->e_pub, hs->sec->e);
            }
            hs->has_e = true;
            memcpy(out + pos, hs->e_pub, NOISE_DHLEN);
            pos += NOISE_DHLEN;
            mix_hash(hs, hs->e_pub, NOISE_DHLEN);
            break;
        case TOK_S:
            if (out_cap - pos < NOISE_DHLEN + (hs->has_k ? NOISE_TAGLEN : 0)) {
                r = MAMORI_ERR_TOOBIG;
                goto out;
            }
            if ((r = encrypt_and_hash(hs, hs->s_pub, NOISE_DHLEN, out + pos, &n)))
                goto out;
            pos += n;
            break;
        default:
            if ((r = token_dh(hs, *t)))
                goto out;
        }
    }
    /* payload_len <= NOISE_MAX_PAYLOAD, so this sum cannot overflow. */
    if (out_cap - pos < payload_len + (hs->has_k ? NOISE_TAGLEN : 0) ||
        pos + payload_len + (hs->has_k ? NOISE_TAGLEN : 0) > NOISE_MAX_MSG) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((r = encrypt_and_hash(hs, payload, payload_len, out + pos, &n)))
        goto out;
    pos += n;
    hs_finish_message(hs);
out:
    if (r != 0) {
        hs_kill(hs);
        return r;
    }
    slot_close(hs->sec);
    *ret_len = pos;
    return 0;
}

int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t msg_len, uint8_t *payload_out,
                  size_t payload_cap, size_t *ret_payload_len)
{
    struct buf b;
    const uint8_t *p;
    size_t n;
    int r = 0;
    if (hs == NULL)
        return MAMORI_ERR_INVAL;
    if (hs->dead || hs->sec == NULL)
        return MAMORI_ERR_STATE;
    hs_open(hs);
    if (hs->msg >= hs->def->messages || hs_my_turn(hs)) {
        r = MAMORI_ERR_STATE;
        goto out;
    }
    if ((msg == NULL && msg_len > 0) || ret_payload_len == NULL) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if (msg_len > NOISE_MAX_MSG) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    buf_view(&b, msg, msg_len);
    for (const enum noise_token *t = hs->def->tokens[hs->msg]; *t != TOK_END; t++) {
        switch (*t) {
        case TOK_E:
            if ((r = buf_get_bytes(&b, hs->re, NOISE_DHLEN)))
                goto out;
            hs->has_re = true;
            mix_hash(hs, hs->re, NOISE_DHLEN);
            break;
        case TOK_S:
            n = NOISE_DHLEN + (hs->has_k ? NOISE_TAGLEN : 0);
            if ((r = buf_get_ptr(&b, n, &p)) || (r = decrypt_and_hash(hs, p, n, hs->rs, &n)))
                goto out;
            hs->has_rs = true;
            break;
        default:
            if ((r = token_dh(hs, *t)))
                goto out;
        }
    }
    /* The rest of the message is the payload (with its tag once keyed). */
    n = buf_remaining(&b);
    if (hs->has_k && n < NOISE_TAGLEN) {
        r = MAMORI_ERR_AUTH;
        goto out;
    }
    if (n - (hs->has_k ? NOISE_TAGLEN : 0) > payload_cap) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if (n - (hs->has_k ? NOISE_TAGLEN : 0) > 0 && payload_out == NULL) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = buf_get_ptr(&b, n, &p)) || (r = decrypt_and_hash(hs, p, n, payload_out, &n)) ||
        (r = buf_end(&b)))
        goto out;
    hs_finish_message(hs);
out:
    if (r != 0) {
        hs_kill(hs);
        return r;
    }
    slot_close(hs->sec);
    *ret_payload_len = n;
    return 0;
}

int noise_hs_remote_static(const struct noise_hs *hs, uint8_t ret_pub[static NOISE_DHLEN])
{
    if (hs == NULL || hs->dead)
        return MAMORI_ERR_STATE;
    if (!hs->has_rs)
        return MAMORI_ERR_STATE;
    memcpy(ret_pub, hs->rs, NOISE_DHLEN);
    return 0;
}

int noise_hs_hash(const struct noise_hs *hs, uint8_t ret_h[static NOISE_HASHLEN])
{
    if (!noise_hs_done(hs))
        return MAMORI_ERR_STATE;
    memcpy(ret_h, hs->h, NOISE_HASHLEN);
    return 0;
}

int noise_hs_split(struct noise_hs *hs, struct noise_cs **ret_tx, struct noise_cs **ret_rx)
{
    struct noise_cs *c1, *c2;
    if (ret_tx == NULL || ret_rx == NULL)
        return MAMORI_ERR_INVAL;
    if (!noise_hs_done(hs) || hs->split || hs->sec == NULL)
        return MAMORI_ERR_STATE;
    c1 = calloc(1, sizeof(*c1));
    c2 = calloc(1, sizeof(*c2));
    if (c1 == NULL || c2 == NULL) {
        free(c1);
        free(c2);
        return MAMORI_ERR_NOMEM; /* the handshake stays splittable */
    }
    struct hs_secret *s = hs->sec;
    hs_open(hs);
    hkdf2(s->ck, NULL, 0, s->t1, s->t2, &s->kdf);
    memcpy(s->out[0].k, s->t1, NOISE_KEYLEN);
    memcpy(s->out[1].k, s->t2, NOISE_KEYLEN);
    /* Nothing of the handshake is left in the slot, only the two keys. */
    sodium_memzero(s, offsetof(struct hs_secret, out));
    sodium_memzero(s->out[0].tmp, sizeof(s->out[0].tmp));
    sodium_memzero(s->out[1].tmp, sizeof(s->out[1].tmp));
    sodium_mprotect_readonly(s);
    c1->slot = c2->slot = s;
    c1->sec = &s->out[0];
    c2->sec = &s->out[1];
    c1->sibling = c2;
    c2->sibling = c1;
    hs->sec = NULL;
    hs->split = true;
    *ret_tx = hs->role == NOISE_INITIATOR ? c1 : c2;
    *ret_rx = hs->role == NOISE_INITIATOR ? c2 : c1;
    return 0;
}

void noise_hs_free(struct noise_hs *hs)
{
    if (hs == NULL)
        return;
    slot_free(hs->sec, false);
    sodium_memzero(hs, sizeof(*hs));
    free(hs);
}

/* ---------------------------------------------------------------------- */
/* Transport cipher states. */

int noise_cs_encrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                     size_t pt_len, uint8_t *out, size_t out_cap, size_t *ret_len)
{
    int r;
    if (cs == NULL || out == NULL || ret_len == NULL || (pt == NULL && pt_len > 0) ||
        (ad == NULL && ad_len > 0))
        return MAMORI_ERR_INVAL;
    if (pt_len > NOISE_MAX_PAYLOAD || out_cap < pt_len + NOISE_TAGLEN)
        return MAMORI_ERR_TOOBIG;
    if (cs->n == NOISE_NONCE_RESERVED)
        return MAMORI_ERR_LIMIT; /* exhausted: the session must end */
    r = aead_encrypt(cs->sec->k, cs->n, ad, ad_len, pt, pt_len, out);
    if (r != 0)
        return r;
    cs->n++;
    cs->since_rekey++;
    *ret_len = pt_len + NOISE_TAGLEN;
    return 0;
}

int noise_cs_decrypt(struct noise_cs *cs, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                     size_t ct_len, uint8_t *out, size_t out_cap, size_t *ret_len)
{
    int r;
    if (cs == NULL || ret_len == NULL || (ct == NULL && ct_len > 0) || (ad == NULL && ad_len > 0))
        return MAMORI_ERR_INVAL;
    if (ct_len > NOISE_MAX_MSG)
        return MAMORI_ERR_TOOBIG;
    if (ct_len < NOISE_TAGLEN)
        return MAMORI_ERR_AUTH; /* too short to carry a tag: cannot verify */
    if (out_cap < ct_len - NOISE_TAGLEN || (out == NULL && ct_len > NOISE_TAGLEN))
        return MAMORI_ERR_TOOBIG;
    if (cs->n == NOISE_NONCE_RESERVED)
        return MAMORI_ERR_LIMIT;
    uint8_t dummy[1];
    r = aead_decrypt(cs->sec->k, cs->n, ad, ad_len, ct, ct_len, out != NULL ? out : dummy);
    if (r != 0)
        return r;
    cs->n++;
    cs->since_rekey++;
    *ret_len = ct_len - NOISE_TAGLEN;
    return 0;
}

int noise_cs_rekey(struct noise_cs *cs)
{
    static const uint8_t zeros[NOISE_KEYLEN];
    int r;
    if (cs == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&slot_cache.mu);
    sodium_mprotect_readwrite(cs->slot);
    r = aead_encrypt(cs->sec->k, NOISE_NONCE_RESERVED, NULL, 0, zeros, sizeof(zeros), cs->sec->tmp);
    if (r == 0)
        memcpy(cs->sec->k, cs->sec->tmp, NOISE_KEYLEN);
    sodium_memzero(cs->sec->tmp, sizeof(cs->sec->tmp));
    sodium_mprotect_readonly(cs->slot);
    pthread_mutex_unlock(&slot_cache.mu);
    if (r == 0)
        cs->since_rekey = 0;
    return r;
}

uint64_t noise_cs_nonce(const struct noise_cs *cs)
{
    return cs == NULL ? 0 : cs->n;
}

uint64_t noise_cs_since_rekey(const struct noise_cs *cs)
{
    return cs == NULL ? 0 : cs->since_rekey;
}

void noise_cs_set_nonce(struct noise_cs *cs, uint64_t n)
{
    if (cs != NULL)
        cs->n = n;
}

void noise_cs_free(struct noise_cs *cs)
{
    if (cs == NULL)
        return;
    struct hs_secret *slot = cs->slot;
    pthread_mutex_lock(&slot_cache.mu);
    if (cs->sibling != NULL) {
        /* The other direction lives on: wipe only our key. */
        cs->sibling->sibling = NULL;
        sodium_mprotect_readwrite(slot);
        sodium_memzero(cs->sec, sizeof(*cs->sec));
        sodium_mprotect_readonly(slot);
        slot = NULL;
    }
    pthread_mutex_unlock(&slot_cache.mu);
    slot_free(slot, false); /* the last one wipes and releases the slot */
    sodium_memzero(cs, sizeof(*cs));
    free(cs);
}
