/*
 * merkle: RFC 9162 (RFC 6962) Merkle tree hashing with SHA-256.
 *
 *   leaf hash = SHA-256(0x00 || data)     node hash = SHA-256(0x01 || left || right)
 *   root of the empty tree = SHA-256("")
 *
 * Three pieces:
 *  - struct merkle_frontier: the compact range of a tree (one subtree root per
 *    set bit of the size, at most 64). O(log n) memory; append is amortised
 *    O(1), worst O(log n); root in O(log n). Writers and verifiers that only
 *    need roots use it.
 *  - struct merkle_tree: every leaf hash and every complete subtree hash
 *    (about 2n hashes = 64 bytes per leaf). Appends as above; the root at any
 *    earlier size, inclusion proofs and consistency proofs are built from the
 *    stored nodes in O(log^2 n) hashes at most (only subtrees on the ragged
 *    right edge are folded on the fly).
 *  - verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2), with fixed-size arguments, and
 *    "_span" variants for hashes of untrusted length (decoded proofs): a leaf
 *    hash, root or proof element that is not 32 bytes is rejected.
 *
 * Extra rules beyond the bare algorithm (as the reference library): a
 * consistency proof from the empty tree (size1 == 0) is meaningless and is
 * always rejected; proofs longer than MERKLE_MAX_PROOF are rejected.
 */
#ifndef MAMORI_MERKLE_H
#define MAMORI_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
/* Upper bound on the hashes in any proof for a tree of fewer than 2^64 leaves. */
#define MERKLE_MAX_PROOF 66
/* Levels in a tree of fewer than 2^64 leaves. */
#define MERKLE_MAX_LEVELS 64

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

/* Leaf hash of n bytes. 0 or MAMORI_ERR_CRYPTO / MAMORI_ERR_NOMEM. */
int merkle_leaf_hash(merkle_hash ret, const uint8_t *data, size_t n);
/* Interior node hash. */
void merkle_node_hash(merkle_hash ret, const merkle_hash left, const merkle_hash right);
/* Root of the empty tree. */
void merkle_empty_root(merkle_hash ret);

/* Compact range: roots of the perfect subtrees covering [0, size). */
struct merkle_frontier {
    uint64_t size;
    merkle_hash node[MERKLE_MAX_LEVELS]; /* node[l] valid when bit l of size is set */
};

void merkle_frontier_init(struct merkle_frontier *f);
/* Append one leaf hash. MAMORI_ERR_TOOBIG when the size would overflow. */
int merkle_frontier_append(struct merkle_frontier *f, const merkle_hash leaf);
/* Root of the current size (empty root at size 0). */
void merkle_frontier_root(const struct merkle_frontier *f, merkle_hash ret);

/* Full tree of stored node hashes (in memory). */
struct merkle_tree;

int merkle_tree_new(struct merkle_tree **ret);
/* NULL-safe. */
void merkle_tree_free(struct merkle_tree *t);
uint64_t merkle_tree_size(const struct merkle_tree *t);
/* Append a leaf hash (amortised O(1)). 0, MAMORI_ERR_NOMEM or MAMORI_ERR_TOOBIG. */
int merkle_tree_append(struct merkle_tree *t, const merkle_hash leaf);
/* Leaf hash at index. MAMORI_ERR_INVAL when index >= size. */
int merkle_tree_leaf(const struct merkle_tree *t, uint64_t index, merkle_hash ret);
/* Root of the first size leaves (size <= current size). */
int merkle_tree_root(const struct merkle_tree *t, uint64_t size, merkle_hash ret);
/* Inclusion proof of leaf index in the tree of the first size leaves, written
 * to ret_proof (room for MERKLE_MAX_PROOF hashes), deepest first; *ret_n =
 * count. MAMORI_ERR_INVAL unless index < size <= current size. */
int merkle_tree_inclusion(const struct merkle_tree *t, uint64_t index, uint64_t size,
                          merkle_hash ret_proof[MERKLE_MAX_PROOF], size_t *ret_n);
/* Consistency proof between sizes size1 and size2 (0 < size1 <= size2 <=
 * current size). Same output convention. */
int merkle_tree_consistency(const struct merkle_tree *t, uint64_t size1, uint64_t size2,
                            merkle_hash ret_proof[MERKLE_MAX_PROOF], size_t *ret_n);

/* Verification (a proof is proof_n 32-byte hashes back to back). 0 when the proof holds, MAMORI_ERR_AUTH when it does not (or
 * when the arguments are impossible: index >= size, size1 > size2, size1 == 0,
 * a proof of the wrong length). */
__attribute__((warn_unused_result)) int merkle_verify_inclusion(uint64_t index, uint64_t size,
                                                                const merkle_hash leaf,
                                                                const uint8_t *proof, size_t proof_n,
                                                                const merkle_hash root);
__attribute__((warn_unused_result)) int merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                                                  const merkle_hash root1,
                                                                  const merkle_hash root2,
                                                                  const uint8_t *proof, size_t proof_n);

/* Root implied by an inclusion proof (the verifier without the comparison). */
int merkle_root_from_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf,
                               const uint8_t *proof, size_t proof_n, merkle_hash ret_root);

/* Bytes of untrusted length. */
struct merkle_span {
    const uint8_t *p;
    size_t n;
};

__attribute__((warn_unused_result)) int merkle_verify_inclusion_span(uint64_t index, uint64_t size,
                                                                     struct merkle_span leaf,
                                                                     const struct merkle_span *proof,
                                                                     size_t proof_n, struct merkle_span root);
__attribute__((warn_unused_result)) int merkle_verify_consistency_span(uint64_t size1, uint64_t size2,
                                                                       struct merkle_span root1,
                                                                       struct merkle_span root2,
                                                                       const struct merkle_span *proof,
                                                                       size_t proof_n);

#endif
