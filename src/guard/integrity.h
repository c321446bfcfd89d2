/*
 * integrity: compare installed files with the signed manifest (LC-6).
 *
 * Used by `mamori integrity check` and by mamori-guard (full check at start,
 * on SIGUSR1, and per file on a modify/close-write event).
 */
#ifndef MAMORI_INTEGRITY_H
#define MAMORI_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

#include "guard/manifest.h"

#define INTEGRITY_MAX_FILE (1ull << 32) /* largest file hashed (4 GiB) */
#define INTEGRITY_MAX_WALK 500000u      /* files visited under the roots */
#define INTEGRITY_MAX_DEPTH 64          /* directory depth of a walk */
#define INTEGRITY_MAX_ROOTS 64          /* roots of one check */

enum integrity_kind {
    INTEGRITY_OK = 0,
    INTEGRITY_MISSING, /* listed, not there (or not a regular file) */
    INTEGRITY_CHANGED, /* listed, different size or SHA-256 */
    INTEGRITY_EXTRA,   /* there, not listed */
    INTEGRITY_UNREADABLE,
};

const char *integrity_kind_name(enum integrity_kind k);

/* Called once per difference. Return nonzero to stop the check early. */
typedef int (*integrity_fn)(void *ctx, enum integrity_kind kind, const char *path);

/* Check one path against the manifest; *ret_kind gets the verdict (OK,
 * MISSING, CHANGED, EXTRA, UNREADABLE). Returns 0 or a hard error. */
int integrity_check_path(const struct manifest *m, const char *path, enum integrity_kind *ret_kind);

/* Check every manifest entry under one of roots (all entries when nroots is 0)
 * and walk roots for regular files that are not listed. *ret_bad = number of
 * differences. Returns 0, the callback's nonzero value, MAMORI_ERR_TOOBIG past
 * INTEGRITY_MAX_WALK or INTEGRITY_MAX_ROOTS, or a hard error. */
int integrity_check(const struct manifest *m, const char *const *roots, size_t nroots, integrity_fn cb,
                    void *ctx, size_t *ret_bad);

/* Visit every regular file under root (no symlinks followed, at most
 * INTEGRITY_MAX_WALK files, INTEGRITY_MAX_DEPTH deep), in sorted order; path
 * is absolute. Stops with cb's nonzero value. */
typedef int (*integrity_walk_fn)(void *ctx, const char *path);
int integrity_walk(const char *root, integrity_walk_fn cb, void *ctx);

#endif
