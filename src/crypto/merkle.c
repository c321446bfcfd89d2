/*
 * merkle.c: RFC 9162 Merkle tree hashing, compact ranges, a stored-node tree
 * with proof generation, and proof verification. Owns the tree arithmetic
 * only; what a leaf means (an audit entry) belongs to the caller.
 *
 * SHA-256 comes from OpenSSL (hardware SHA extensions where present).
 */
#include "crypto/merkle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "mamori/err.h"

/* SHA-256 through EVP with the algorithm fetched once and one digest context
 * per thread: the one-shot SHA256() re-fetches the algorithm on every call in
 * OpenSSL 3 (about 3x slower for the short inputs hashed here). The context
 * lives in thread-specific data and is freed when its thread exits. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key;
static bool sha256_key_ok;

static void sha256_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void sha256_init_once(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_key_ok = pthread_key_create(&sha256_key, sha256_ctx_free) == 0;
}

/* SHA-256 of a || b (b may be NULL). 0 or MAMORI_ERR_CRYPTO / NOMEM. */
static int sha256_2(merkle_hash ret, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    unsigned int len = 0;
    EVP_MD_CTX *ctx;
    pthread_once(&sha256_once, sha256_init_once);
    if (sha256_md == NULL || !sha256_key_ok)
        return MAMORI_ERR_CRYPTO;
    ctx = pthread_getspecific(sha256_key);
    if (ctx == NULL) {
        if ((ctx = EVP_MD_CTX_new()) == NULL)
            return MAMORI_ERR_NOMEM;
        if (pthread_setspecific(sha256_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            return MAMORI_ERR_NOMEM;
        }
    }
    if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 || EVP_DigestUpdate(ctx, a, an) != 1 ||
        (bn > 0 && EVP_DigestUpdate(ctx, b, bn) != 1) || EVP_DigestFinal_ex(ctx, ret, &len) != 1 ||
        len != MERKLE_HASH_LEN)
        return MAMORI_ERR_CRYPTO;
    return 0;
}

int merkle_leaf_hash(merkle_hash ret, const uint8_t *data, size_t n)
{
    static const uint8_t zero = 0x00;
    return sha256_2(ret, &zero, 1, data, n);
}

void merkle_node_hash(merkle_hash ret, const merkle_hash left, const merkle_hash right)
{
    uint8_t tmp[1 + 2 * MERKLE_HASH_LEN];
    tmp[0] = 0x01;
    memcpy(tmp + 1, left, MERKLE_HASH_LEN);
    memcpy(tmp + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
    /* Only an allocation failure on a thread's first hash can fail here; the
     * fallback keeps the function total (same digest, slower path). */
    if (sha256_2(ret, tmp, sizeof(tmp), NULL, 0) != 0)
        SHA256(tmp, sizeof(tmp), ret);
}

void merkle_empty_root(merkle_hash ret)
{
    SHA256((const uint8_t *)"", 0, ret);
}

/* ---- compact range ---- */

void merkle_frontier_init(struct merkle_frontier *f)
{
    memset(f, 0, sizeof(*f));
}

int merkle_frontier_append(struct merkle_frontier *f, const merkle_hash leaf)
{
    merkle_hash h;
    unsigned l = 0;
    if (f->size == UINT64_MAX)
        return MAMORI_ERR_TOOBIG;
    memcpy(h, leaf, MERKLE_HASH_LEN);
    while (f->size >> l & 1) {
        merkle_node_hash(h, f->node[l], h);
        l++;
    }
    memcpy(f->node[l], h, MERKLE_HASH_LEN);
    f->size++;
    return 0;
}

void merkle_frontier_root(const struct merkle_frontier *f, merkle_hash ret)
{
    merkle_hash acc;
    bool have = false;
    if (f->size == 0) {
        merkle_empty_root(ret);
        return;
    }
    for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++) {
        if (!(f->size >> l & 1))
            continue;
        if (!have) {
            memcpy(acc, f->node[l], MERKLE_HASH_LEN);
            have = true;
        } else {
            merkle_node_hash(acc, f->node[l], acc);
        }
    }
    memcpy(ret, acc, MERKLE_HASH_LEN);
}

/* ---- stored-node tree ---- */

struct merkle_level {
    merkle_hash *h;
    uint64_t n;
    uint64_t cap;
};

struct merkle_tree {
    uint64_t size;
    struct merkle_level level[MERKLE_MAX_LEVELS];
};

int merkle_tree_new(struct merkle_tree **ret)
{
    struct merkle_tree *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = t;
    return 0;
}

void merkle_tree_free(struct merkle_tree *t)
{
    if (t == NULL)
        return;
    for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
        free(t->level[l].h);
    free(t);
}

uint64_t merkle_tree_size(const struct merkle_tree *t)
{
    return t->size;
}

static int level_push(struct merkle_level *lv, const merkle_hash h)
{
    if (lv->n == lv->cap) {
        uint64_t cap = lv->cap ? lv->cap * 2 : 1024;
        if (cap > SIZE_MAX / MERKLE_HASH_LEN)
            return MAMORI_ERR_TOOBIG;
        merkle_hash *p = realloc(lv->h, (size_t)cap * MERKLE_HASH_LEN);
        if (p == NULL)
            return MAMORI_ERR_NOMEM;
        lv->h = p;
        lv->cap = cap;
    }
    memcpy(lv->h[lv->n++], h, MERKLE_HASH_LEN);
    return 0;
}

int merkle_tree_append(struct merkle_tree *t, const merkle_hash leaf)
{
    merkle_hash h;
    int r;
    if (t->size >= (UINT64_C(1) << 62))
        return MAMORI_ERR_TOOBIG;
    /* Reserve room on every level this append touches before changing any,
     * so a failed allocation leaves the tree as it was. */
    if ((r = level_push(&t->level[0], leaf)) != 0)
        return r;
    memcpy(h, leaf, MERKLE_HASH_LEN);
    for (unsigned l = 0; l + 1 < MERKLE_MAX_LEVELS && (t->level[l].n & 1) == 0; l++) {
        struct merkle_level *lv = &t->level[l];
        merkle_node_hash(h, lv->h[lv->n - 2], lv->h[lv->n - 1]);
        if ((r = level_push(&t->level[l + 1], h)) != 0) {
            /* undo the partial append: drop the nodes pushed so far */
            for (unsigned k = 0; k <= l; k++)
                t->level[k].n--;
            return r;
        }
    }
    t->size++;
    return 0;
}

int merkle_tree_leaf(const struct merkle_tree *t, uint64_t index, merkle_hash ret)
{
    if (index >= t->size)
        return MAMORI_ERR_INVAL;
    memcpy(ret, t->level[0].h[index], MERKLE_HASH_LEN);
    return 0;
}

static bool is_pow2(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* Largest power of two strictly less than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

static unsigned log2u(uint64_t x)
{
    unsigned l = 0;
    while (x >>= 1)
        l++;
    return l;
}

/* MTH(D[start:end]) from stored nodes; end <= t->size, start < end. A perfect
 * aligned range is one lookup; anything else splits as RFC 9162 does. */
static void subtree_hash(const struct merkle_tree *t, uint64_t start, uint64_t end, merkle_hash ret)
{
    uint64_t n = end - start;
    if (is_pow2(n) && start % n == 0) {
        unsigned l = log2u(n);
        memcpy(ret, t->level[l].h[start >> l], MERKLE_HASH_LEN);
        return;
    }
    uint64_t k = split_point(n);
    merkle_hash left, right;
    subtree_hash(t, start, start + k, left);
    subtree_hash(t, start + k, end, right);
    merkle_node_hash(ret, left, right);
}

int merkle_tree_root(const struct merkle_tree *t, uint64_t size, merkle_hash ret)
{
    if (size > t->size)
        return MAMORI_ERR_INVAL;
    if (size == 0)
        merkle_empty_root(ret);
    else
        subtree_hash(t, 0, size, ret);
    return 0;
}

/* PATH(m, D[start:end]) of RFC 6962 §2.1.1, deepest first. */
static int path(const struct merkle_tree *t, uint64_t m, uint64_t start, uint64_t end, merkle_hash *out,
                size_t *n)
{
    uint64_t len = end - start;
    int r;
    if (len == 1)
        return 0;
    uint64_t k = split_point(len);
    if (m < k) {
        if ((r = path(t, m, start, start + k, out, n)) != 0)
            return r;
        if (*n >= MERKLE_MAX_PROOF)
            return MAMORI_ERR_INTERNAL;
        subtree_hash(t, start + k, end, out[(*n)++]);
    } else {
        if ((r = path(t, m - k, start + k, end, out, n)) != 0)
            return r;
        if (*n >= MERKLE_MAX_PROOF)
            return MAMORI_ERR_INTERNAL;
        subtree_hash(t, start, start + k, out[(*n)++]);
    }
    return 0;
}

int merkle_tree_inclusion(const struct merkle_tree *t, uint64_t index, uint64_t size,
                          merkle_hash ret_proof[MERKLE_MAX_PROOF], size_t *ret_n)
{
    size_t n = 0;
    int r;
    if (index >= size || size > t->size)
        return MAMORI_ERR_INVAL;
    if ((r = path(t, index, 0, size, ret_proof, &n)) != 0)
        return r;
    *ret_n = n;
    return 0;
}

/* SUBPROOF(m, D[start:end], b) of RFC 6962 §2.1.2. */
static int subproof(const struct merkle_tree *t, uint64_t m, uint64_t start, uint64_t end, bool b,
                    merkle_hash *out, size_t *n)
{
    uint64_t len = end - start;
    int r;
    if (m == len) {
        if (b)
            return 0;
        if (*n >= MERKLE_MAX_PROOF)
            return MAMORI_ERR_INTERNAL;
        subtree_hash(t, start, end, out[(*n)++]);
        return 0;
    }
    uint64_t k = split_point(len);
    if (m <= k) {
        if ((r = subproof(t, m, start, start + k, b, out, n)) != 0)
            return r;
        if (*n >= MERKLE_MAX_PROOF)
            return MAMORI_ERR_INTERNAL;
        subtree_hash(t, start + k, end, out[(*n)++]);
    } else {
        if ((r = subproof(t, m - k, start + k, end, false, out, n)) != 0)
            return r;
        if (*n >= MERKLE_MAX_PROOF)
            return MAMORI_ERR_INTERNAL;
        subtree_hash(t, start, start + k, out[(*n)++]);
    }
    return 0;
}

int merkle_tree_consistency(const struct merkle_tree *t, uint64_t size1, uint64_t size2,
                            merkle_hash ret_proof[MERKLE_MAX_PROOF], size_t *ret_n)
{
    size_t n = 0;
    int r;
    if (size1 == 0 || size1 > size2 || size2 > t->size)
        return MAMORI_ERR_INVAL;
    if ((r = subproof(t, size1, 0, size2, true, ret_proof, &n)) != 0)
        return r;
    *ret_n = n;
    return 0;
}

/* ---- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ---- */

int merkle_root_from_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf,
                               const uint8_t *proof, size_t proof_n, merkle_hash ret_root)
{
    merkle_hash r;
    uint64_t fn = index, sn;
    if (index >= size || proof_n > MERKLE_MAX_PROOF)
        return MAMORI_ERR_AUTH;
    sn = size - 1;
    memcpy(r, leaf, MERKLE_HASH_LEN);
    for (size_t i = 0; i < proof_n; i++) {
        if (sn == 0)
            return MAMORI_ERR_AUTH;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(r, proof + i * MERKLE_HASH_LEN, r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(r, r, proof + i * MERKLE_HASH_LEN);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return MAMORI_ERR_AUTH;
    memcpy(ret_root, r, MERKLE_HASH_LEN);
    return 0;
}

/* Roots are public values: a plain comparison leaks nothing secret. */
static bool hash_eq(const merkle_hash a, const merkle_hash b)
{
    return memcmp(a, b, MERKLE_HASH_LEN) == 0;
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf, const uint8_t *proof,
                            size_t proof_n, const merkle_hash root)
{
    merkle_hash calc;
    if (merkle_root_from_inclusion(index, size, leaf, proof, proof_n, calc) != 0)
        return MAMORI_ERR_AUTH;
    return hash_eq(calc, root) ? 0 : MAMORI_ERR_AUTH;
}

int merkle_verify_consistency(uint64_t size1, uint64_t size2, const merkle_hash root1, const merkle_hash root2,
                              const uint8_t *proof, size_t proof_n)
{
    merkle_hash fr, sr;
    uint64_t fn, sn;
    size_t i = 0;
    /* From the empty tree nothing is proved (and nothing can be checked). */
    if (size1 == 0 || size1 > size2 || proof_n > MERKLE_MAX_PROOF)
        return MAMORI_ERR_AUTH;
    if (size1 == size2)
        return proof_n == 0 && hash_eq(root1, root2) ? 0 : MAMORI_ERR_AUTH;
    if (proof_n == 0)
        return MAMORI_ERR_AUTH;
    fn = size1 - 1;
    sn = size2 - 1;
    /* A power-of-two first tree is itself a node of the second: the proof
     * leaves it out and the verifier starts from root1. */
    if (is_pow2(size1)) {
        memcpy(fr, root1, MERKLE_HASH_LEN);
    } else {
        memcpy(fr, proof, MERKLE_HASH_LEN);
        i = 1;
    }
    memcpy(sr, fr, MERKLE_HASH_LEN);
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < proof_n; i++) {
        if (sn == 0)
            return MAMORI_ERR_AUTH;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(fr, proof + i * MERKLE_HASH_LEN, fr);
            merkle_node_hash(sr, proof + i * MERKLE_HASH_LEN, sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(sr, sr, proof + i * MERKLE_HASH_LEN);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return MAMORI_ERR_AUTH;
    return hash_eq(fr, root1) && hash_eq(sr, root2) ? 0 : MAMORI_ERR_AUTH;
}

/* Copy spans into fixed hashes, rejecting any of the wrong length. */
static int spans_to_hashes(const struct merkle_span *in, size_t n, merkle_hash *out)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i].n != MERKLE_HASH_LEN || in[i].p == NULL)
            return MAMORI_ERR_AUTH;
        memcpy(out[i], in[i].p, MERKLE_HASH_LEN);
    }
    return 0;
}

int merkle_verify_inclusion_span(uint64_t index, uint64_t size, struct merkle_span leaf,
                                 const struct merkle_span *proof, size_t proof_n, struct merkle_span root)
{
    merkle_hash p[MERKLE_MAX_PROOF], l, rt;
    if (proof_n > MERKLE_MAX_PROOF || spans_to_hashes(&leaf, 1, &l) != 0 || spans_to_hashes(&root, 1, &rt) != 0 ||
        spans_to_hashes(proof, proof_n, p) != 0)
        return MAMORI_ERR_AUTH;
    return merkle_verify_inclusion(index, size, l, p[0], proof_n, rt);
}

int merkle_verify_consistency_span(uint64_t size1, uint64_t size2, struct merkle_span root1,
                                   struct merkle_span root2, const struct merkle_span *proof, size_t proof_n)
{
    merkle_hash p[MERKLE_MAX_PROOF], r1, r2;
    /* Equal non-zero sizes prove only that the two roots are the same value,
     * whatever their length (as the reference verifier does). */
    if (size1 != 0 && size1 == size2)
        return proof_n == 0 && root1.n == root2.n && (root1.n == 0 || memcmp(root1.p, root2.p, root1.n) == 0)
                   ? 0
                   : MAMORI_ERR_AUTH;
    if (proof_n > MERKLE_MAX_PROOF || spans_to_hashes(&root1, 1, &r1) != 0 ||
        spans_to_hashes(&root2, 1, &r2) != 0 || spans_to_hashes(proof, proof_n, p) != 0)
        return MAMORI_ERR_AUTH;
    return merkle_verify_consistency(size1, size2, r1, r2, p[0], proof_n);
}
