/*
 * enforcer: the fanotify side of mamori-guard (POL-5, THR-1, THR-3, PRE-5).
 *
 * Policy (docs/guard.md):
 *  - FAN_OPEN_EXEC_PERM (execve of a program or of a #! script): allowed
 *    only when the file's SHA-256 is in the manifest.
 *  - FAN_OPEN_PERM of a regular file that starts with the ELF magic (a
 *    shared object being loaded, a program opened by `ld.so PROGRAM`, or any
 *    read of an unlisted ELF): allowed only when listed. Other files: allowed.
 *  - Own process (the guard's pid): allowed, never recorded.
 *  - Any failure while deciding (fstat, read, file larger than the hash
 *    limit): denied in enforce mode. The permission group has an unlimited
 *    kernel queue, so the kernel never answers on the guard's behalf while
 *    it lives.
 *  - detect mode: the same decision, but a refusal is allowed and recorded.
 *
 * The kernel is answered before anything is recorded: the record (path,
 * SHA-256) goes through a bounded gqueue to the recorder thread.
 *
 * Not thread-safe: one decision thread owns the enforcer.
 */
#ifndef MAMORI_ENFORCER_H
#define MAMORI_ENFORCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guard/gqueue.h"
#include "guard/guardconf.h"
#include "guard/manifest.h"

#define ENFORCER_CACHE_ENTRIES 65536 /* verdict cache slots */
#define ENFORCER_HIST_BUCKETS 32     /* log2(ns) decision time histogram */

struct enforcer;

struct enforcer_stats {
    uint64_t decisions, allowed, denied, detected, cache_hits, hashed, errors, self;
    /* Decision time (fstat to verdict, not counting the response write) in
     * log2 nanosecond buckets, separately for cache hits and misses. */
    uint64_t hit_hist[ENFORCER_HIST_BUCKETS], miss_hist[ENFORCER_HIST_BUCKETS];
    uint64_t hit_ns_total, miss_ns_total;
};

/* A new enforcer pushing records to q (borrowed). No fanotify yet. */
int enforcer_new(enum guard_mode mode, uint64_t max_hash_bytes, struct gqueue *q, struct enforcer **ret);
/* Close the fanotify groups (the kernel allows whatever is pending) and free. NULL-safe. */
void enforcer_free(struct enforcer *e);

/* Create the fanotify groups: permission (FAN_CLASS_CONTENT, unlimited queue)
 * and notification (cache invalidation, integrity). MAMORI_ERR_SYS (errno). */
int enforcer_open(struct enforcer *e);
/* Mark a mount for exec/open permission events and change notifications.
 * Refuses (MAMORI_ERR_REFUSED) a path that is not the root of a mount, and
 * "/" unless allow_system. */
int enforcer_watch_mount(struct enforcer *e, const char *path, bool allow_system);
/* Watch a directory tree (or one file) for close-write: integrity records.
 * At most ENFORCER_MAX_INTEG_DIRS directories. */
#define ENFORCER_MAX_INTEG_DIRS 4096
int enforcer_watch_integrity(struct enforcer *e, const char *path);

/* Use a verified, sealed manifest (borrowed: the caller keeps it alive until
 * it installs another or frees the enforcer). The verdict cache is cleared. */
void enforcer_set_manifest(struct enforcer *e, const struct manifest *m);
void enforcer_set_mode(struct enforcer *e, enum guard_mode mode);
/* Kernel-side cache: after allowing a listed file, add an inode ignore mark
 * so that its later FAN_OPEN_PERM events (the second event of every exec, the
 * loads of a listed library) are not sent at all. Cleared by the kernel on a
 * write, by the guard on close-write, reload and overflow. Trade-off in
 * docs/guard.md §3. Off by default. */
/* After a batch, keep polling the permission group for up to ns nanoseconds
 * before going back to sleep (0: never). Trades CPU for exec latency. */
void enforcer_set_spin(struct enforcer *e, uint64_t ns);
enum guard_mode enforcer_mode(const struct enforcer *e);

int enforcer_perm_fd(const struct enforcer *e);
int enforcer_notify_fd(const struct enforcer *e);
int enforcer_integ_fd(const struct enforcer *e);

/* Read and answer every pending permission event (first draining change
 * notifications so the cache never serves a stale verdict). 0 or MAMORI_ERR_SYS. */
int enforcer_handle_perm(struct enforcer *e);
/* Drain change notifications (cache invalidation). */
int enforcer_handle_notify(struct enforcer *e);
/* Drain integrity notifications into GREC_INTEG_FILE records. */
int enforcer_handle_integ(struct enforcer *e);

/* The decision for an open file (testable without fanotify): true = allow.
 * exec: the event was FAN_OPEN_EXEC_PERM. ret_rec (optional) is filled when
 * the event must be recorded (kind set; path left empty). */
__attribute__((warn_unused_result)) bool enforcer_decide(struct enforcer *e, int fd, bool exec, pid_t pid,
                                                         struct gqueue_rec *ret_rec, bool *ret_record);

void enforcer_stats(const struct enforcer *e, struct enforcer_stats *ret);

#endif
