/*
 * manifest: the signed allowlist of files (POL-5, LC-5; ARCHITECTURE §7).
 *
 * A manifest names every file that may run (and every file of the install
 * whose integrity is watched) by path, size and SHA-256. It is text, so a
 * reviewer can read and diff it (docs/guard.md):
 *
 *     mamori-manifest v1
 *     <sha256 hex, 64> <size, decimal> <absolute path>
 *     ...
 *     ed25519 <public key hex, 64> <signature hex, 128>
 *
 * Entries are sorted by path (byte order) with no duplicates; the optional
 * last line signs every byte before it with the release key (Ed25519). The
 * guard loads only a manifest whose signature verifies under the configured
 * release public key (manifest_load).
 *
 * Lifecycle: manifest_new, manifest_add..., manifest_seal (sorts, refuses
 * duplicates, builds the hash set), then lookups. Parsed manifests come back
 * sealed. A sealed manifest is immutable and may be read from many threads.
 */
#ifndef MAMORI_MANIFEST_H
#define MAMORI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define MANIFEST_HASH_LEN 32           /* SHA-256 */
#define MANIFEST_PK_LEN 32             /* Ed25519 public key */
#define MANIFEST_SIG_LEN 64            /* Ed25519 signature */
#define MANIFEST_MAX_ENTRIES 200000u   /* entries in one manifest */
#define MANIFEST_MAX_PATH 4095u        /* bytes in one path (PATH_MAX - NUL) */
#define MANIFEST_MAX_BYTES (64u << 20) /* size of a manifest file */
#define MANIFEST_MAGIC "mamori-manifest v1"

struct manifest;

struct manifest_entry {
    uint8_t sha256[MANIFEST_HASH_LEN];
    uint64_t size;
    const char *path; /* owned by the manifest */
};

/* An empty, unsealed manifest. */
int manifest_new(struct manifest **ret);
/* Free; NULL-safe. */
void manifest_free(struct manifest *m);

/* Append an entry (path copied). MAMORI_ERR_STATE once sealed, MAMORI_ERR_INVAL
 * for a path that is not absolute or holds a newline/CR/NUL, MAMORI_ERR_TOOBIG
 * past MANIFEST_MAX_PATH or MANIFEST_MAX_ENTRIES. */
int manifest_add(struct manifest *m, const uint8_t sha256[static MANIFEST_HASH_LEN], uint64_t size,
                 const char *path);
/* Sort by path, refuse duplicate paths (MAMORI_ERR_EXISTS) and build the
 * hash set. Idempotent. */
int manifest_seal(struct manifest *m);

/* Parse manifest text (signed or not) into a sealed manifest. Does NOT verify
 * the signature: use manifest_parse_verified for anything that decides.
 * MAMORI_ERR_INVAL on any malformed line, unsorted or duplicate paths, bytes
 * after the signature line or a missing final newline; MAMORI_ERR_TOOBIG past
 * a limit. */
int manifest_parse(const uint8_t *p, size_t n, struct manifest **ret);
/* Parse and require a signature line that verifies under pub (and names pub).
 * MAMORI_ERR_AUTH when unsigned, signed by another key, or tampered. */
__attribute__((warn_unused_result)) int manifest_parse_verified(const uint8_t *p, size_t n,
                                                                const uint8_t pub[static MANIFEST_PK_LEN],
                                                                struct manifest **ret);
/* Read a file (at most MANIFEST_MAX_BYTES, O_NOFOLLOW) and manifest_parse_verified it. */
__attribute__((warn_unused_result)) int manifest_load(const char *path,
                                                      const uint8_t pub[static MANIFEST_PK_LEN],
                                                      struct manifest **ret);
/* Read a whole regular file of at most max bytes into out (initialised here). */
int manifest_read_file(const char *path, size_t max, struct buf *out);

/* A release public key given as 64 hex digits, or as the path of a file whose
 * first line is 64 hex digits. MAMORI_ERR_INVAL otherwise. */
int manifest_parse_pub(const char *arg, uint8_t ret_pub[static MANIFEST_PK_LEN]);

/* True when the parsed text carried a signature line (verified or not). */
bool manifest_is_signed(const struct manifest *m);
/* The signer's public key named on the signature line; MAMORI_ERR_NOTFOUND if unsigned. */
int manifest_signer(const struct manifest *m, uint8_t ret_pub[static MANIFEST_PK_LEN]);

/* Write the unsigned text of a sealed manifest to out (out must be initialised;
 * its max should be at least MANIFEST_MAX_BYTES). */
int manifest_write(const struct manifest *m, struct buf *out);
/* Sign: body (unsigned manifest text, as from manifest_write; must parse) is
 * copied to out followed by the signature line made with sign(ctx, ...).
 * The signer callback keeps key material out of this module (keys_sign fits). */
typedef int (*manifest_signer_fn)(void *ctx, uint8_t ret_sig[static MANIFEST_SIG_LEN], const uint8_t *msg,
                                  size_t n);
int manifest_sign(const uint8_t *body, size_t n, const uint8_t pub[static MANIFEST_PK_LEN],
                  manifest_signer_fn sign, void *ctx, struct buf *out);

size_t manifest_count(const struct manifest *m);
/* Entry i (0 <= i < count) of a sealed manifest, in path order. */
const struct manifest_entry *manifest_at(const struct manifest *m, size_t i);
/* The entry for path, or NULL. */
const struct manifest_entry *manifest_find_path(const struct manifest *m, const char *path);
/* True when some entry has this SHA-256 (O(1)): the allow decision. */
__attribute__((warn_unused_result)) bool manifest_has_hash(const struct manifest *m,
                                                           const uint8_t sha256[static MANIFEST_HASH_LEN]);

enum manifest_change { MANIFEST_ADDED, MANIFEST_REMOVED, MANIFEST_CHANGED };
/* Call cb for each path added, removed or changed (hash or size) from old to
 * new, in path order. Stops early and returns cb's value when it is nonzero. */
typedef int (*manifest_diff_fn)(void *ctx, enum manifest_change what, const struct manifest_entry *old_e,
                                const struct manifest_entry *new_e);
int manifest_diff(const struct manifest *old_m, const struct manifest *new_m, manifest_diff_fn cb, void *ctx);

/* SHA-256 of an open file from offset 0 (pread; the file offset is unchanged).
 * MAMORI_ERR_TOOBIG when the file is larger than max bytes, MAMORI_ERR_IO on a
 * read error. */
int manifest_hash_fd(int fd, uint64_t max, uint8_t ret_sha256[static MANIFEST_HASH_LEN], uint64_t *ret_size);

#endif
