/*
 * gqueue: the bounded queue between the guard's decision thread and its
 * recorder thread (POL-5; docs/guard.md "overload").
 *
 * The decision thread answers the kernel first and only then pushes a record
 * here; push never blocks and never allocates. When the queue is full the
 * record is dropped and counted, and the recorder reports the count as a
 * "guard.dropped" audit event once there is room again: the verdict itself
 * never depends on the queue, so a logging flood cannot stall or open the
 * enforcement.
 */
#ifndef MAMORI_GQUEUE_H
#define MAMORI_GQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard/manifest.h"

#define GQUEUE_MAX 4096         /* records waiting for the recorder */
#define GQUEUE_PATH_MAX 512     /* bytes of a recorded path (longer paths are cut) */

enum gqueue_kind {
    GREC_DENY = 1,      /* enforce mode refused an exec/open */
    GREC_DETECT,        /* detect mode would have refused it */
    GREC_INTEG_FILE,    /* a watched install file was written: check it */
    GREC_INTEG_FULL,    /* full integrity check requested */
    GREC_STOP,          /* recorder: finish and exit */
};

struct gqueue_rec {
    enum gqueue_kind kind;
    int32_t pid;
    uint32_t exec;                  /* 1: FAN_OPEN_EXEC_PERM, 0: FAN_OPEN_PERM of an ELF */
    int32_t reason;                 /* MAMORI_ERR_* when the decision failed, else 0 */
    bool have_sha;
    uint8_t sha256[MANIFEST_HASH_LEN];
    char path[GQUEUE_PATH_MAX];
};

struct gqueue;

int gqueue_new(size_t cap, struct gqueue **ret);
void gqueue_free(struct gqueue *q);
/* Copy r in; false (and the drop counter grows) when full. Never blocks. */
bool gqueue_push(struct gqueue *q, const struct gqueue_rec *r);
/* Wait up to timeout_ms for a record; true when *ret was filled. */
bool gqueue_pop(struct gqueue *q, int timeout_ms, struct gqueue_rec *ret);
/* Records dropped since the last call (and reset the counter). */
uint64_t gqueue_take_dropped(struct gqueue *q);

#endif
