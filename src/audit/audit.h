/*
 * audit: the API every security event goes through (POL-7, POL-8).
 *
 *     audit_event(a, &actor, "device.refused", F_STR("serial", s), F_STR("reason", why));
 *
 * Details are typed fields (common/field.h): HIGH values are refused, MEDIUM
 * values masked, before anything is stored. Callers see only this header;
 * the storage behind it (an append-only SQLite table, and the tamper-evident
 * log that replaces it) can change without touching them.
 *
 * Event names are dotted lowercase ("signon.failed", "device.attach"); docs/
 * audit-events.md lists each with its fields and data class.
 */
#ifndef MAMORI_AUDIT_H
#define MAMORI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/field.h"

struct audit;

/* Who did it. Any member may be NULL (e.g. a device event has no operator). */
struct audit_actor {
    const char *operator_id;
    const char *role;
    const char *process;
};

struct keys;

/* Defaults of struct audit_options. */
#define AUDIT_CHECKPOINT_EVERY 1000 /* entries */
#define AUDIT_CHECKPOINT_SECONDS 10
#define AUDIT_PATH_MAX 4096

struct audit_options {
    uint32_t checkpoint_every;   /* sign a checkpoint every N entries; 0: AUDIT_CHECKPOINT_EVERY */
    uint32_t checkpoint_seconds; /* ... or when T seconds passed since the last; 0: default */
    const char *seal_path;       /* seal state file; NULL: "<path>.seal" */
    const char *verifier_path;   /* where a NEW log writes its verifier export
                                  * (key_0 + audit public key); NULL: "<path>.verifier" */
    const char *process;         /* actor.process of audit.start / audit.stop; NULL: "audit" */
};

/* Open (creating if needed) the tamper-evident log at path (SQLite), signing
 * checkpoints with signer (keys_sign; the caller keeps ownership and keeps it
 * alive until audit_close). A new log gets a fresh seal key_0, written with
 * the audit public key to opt->verifier_path (0600) for `mamori audit keys
 * --export`, which moves it off the terminal. Records "audit.start".
 * MAMORI_ERR_TAMPER when the seal state is ahead of the entries (the log was
 * cut back) or missing for a non-empty log: the log is kept as evidence and
 * not written to. */
int audit_open_ex(const char *path, const struct audit_options *opt, struct keys *signer, struct audit **ret);
/* audit_open_ex with default options and the signer key file "<path>.key"
 * (created on first use, 0600). Callers that only record events use this. */
int audit_open(const char *path, struct audit **ret);
/* Open an existing log for reading only (counters, status, CLI readers): the
 * same checks as audit_open_ex — MAMORI_ERR_TAMPER when the seal state is
 * ahead of the entries, missing for a non-empty log, the sequence has a hole
 * or the entries do not match the last signed checkpoint — but nothing is
 * written: no audit.start/stop, no seal persist, no signer needed. Safe while
 * writers in other processes append (never a false alarm: docs/audit.md,
 * "Concurrency"). Only audit_count, audit_size and audit_close are useful on
 * it; appends, batches, checkpoints and rotation return MAMORI_ERR_STATE.
 * opt may be NULL (only opt->seal_path is used). MAMORI_ERR_NOTFOUND when
 * there is no log at path. */
int audit_open_ro(const char *path, const struct audit_options *opt, struct audit **ret);
/* Record "audit.stop", sign a final checkpoint, close; NULL-safe. */
void audit_close(struct audit *a);

/* Append one event. Returns 0; MAMORI_ERR_PERM if a HIGH field was passed (the
 * event is still recorded with that field refused, and the misuse is visible);
 * or a storage error. Outside a batch it is durable when it returns (its own
 * transaction, WAL with synchronous=FULL, then the seal key is persisted).
 * Inside a batch it is durable only after audit_commit_batch returns. */
int audit_record(struct audit *a, const struct audit_actor *actor, const char *event,
                 const struct field *fields);

#define audit_event(a, actor, ev, ...) \
    audit_record((a), (actor), (ev), ((const struct field[]){__VA_ARGS__, F_END}))

/* Number of recorded events named event (NULL: all). For tests and status. */
int audit_count(struct audit *a, const char *event, int64_t *ret_n);

/* Group commit for high rates: entries recorded between begin and commit go in
 * one transaction (one fsync) and the seal key is persisted once. If the
 * commit fails, every entry of the batch is dropped and the seal key returns
 * to the last durable epoch. Batches do not nest (MAMORI_ERR_STATE). */
int audit_begin_batch(struct audit *a);
int audit_commit_batch(struct audit *a);
/* Sign a checkpoint now if entries were added since the last one. */
int audit_checkpoint(struct audit *a);
/* For event loops: signs the time-based checkpoint of an idle log when due. */
int audit_tick(struct audit *a);
/* Entries in the log. */
uint64_t audit_size(const struct audit *a);
/* Rotate the checkpoint signing key (LC-7): records "audit.key_rotated"
 * {old_pub, new_pub}, signs a checkpoint covering it with the old key, and
 * signs every later checkpoint with new_signer (caller-owned, kept alive until
 * audit_close). The verifier follows the hand-over from the key it was given
 * at provisioning. Not inside a batch (MAMORI_ERR_STATE). */
int audit_rotate_signer(struct audit *a, struct keys *new_signer);

#endif
