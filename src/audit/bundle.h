/*
 * bundle: the exported audit log and its offline verifier (POL-7, THR-6, PRE-1).
 *
 * A bundle is a stream of records in log order (big-endian integers):
 *   header      "MAMORI-AUDIT-BUNDLE-1\n"
 *   1 ENTRY     u32 len | canonical entry[len] (entry.h) | mac[32]
 *   2 CHECKPOINT u64 size | root[32] | i64 time_ns | sig[64] | tag[32]
 *               | u8 n | n x 32-byte consistency proof from the previous checkpoint
 *               (n = 0 for the first); written right after entry size-1
 *   3 END       u64 count | root[32] | u8 has_tail | [tail tag[32]]
 * Nothing may follow END. Limits: AUDIT_ENTRY_MAX per entry,
 * AUDIT_BUNDLE_MAX_ENTRIES entries, MERKLE_MAX_PROOF hashes per proof.
 *
 * The verifier needs only the exported key material (vkeys.h) and checks, in
 * one pass: entry i has seq i (deletion, insertion, reordering); its seal MAC
 * with key_i (editing, re-sealing with another epoch's key); each checkpoint's
 * size matches its place, its root equals the tree of the entries before it,
 * its Ed25519 signature and its seal tag (key_size) hold, and its consistency
 * proof links it to the previous one; END matches the entries, and its tail
 * tag (key_count) proves the log ended there when exported. An
 * "audit.key_rotated" entry {old_pub, new_pub} (sealed like any entry) hands
 * checkpoint signing to new_pub after the checkpoint that covers it. The first failure
 * is reported with the entry (or checkpoint size) and the reason.
 */
#ifndef MAMORI_AUDIT_BUNDLE_H
#define MAMORI_AUDIT_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "audit/entry.h"
#include "audit/vkeys.h"
#include "common/buf.h"

#define AUDIT_BUNDLE_MAGIC "MAMORI-AUDIT-BUNDLE-1\n"
#define AUDIT_BUNDLE_MAGIC_LEN 22
#define AUDIT_BUNDLE_MAX_ENTRIES (UINT64_C(1) << 40)
/* Largest bundle file the CLI reads into memory. */
#define AUDIT_BUNDLE_MAX_BYTES (UINT64_C(16) << 30)

enum audit_rec { AUDIT_REC_ENTRY = 1, AUDIT_REC_CHECKPOINT = 2, AUDIT_REC_END = 3 };

/* The entry that hands checkpoint signing to a new key (details old_pub, new_pub). */
#define AUDIT_EVENT_KEY_ROTATED "audit.key_rotated"

/* The columns audit_row_entry() reads, in order. */
#define AUDIT_ROW_SELECT "SELECT seq, time_ns, operator, role, process, event, details, mac FROM audit"

/* An entry from a row of AUDIT_ROW_SELECT (strings point into the row; valid
 * until the next step). MAMORI_ERR_INVAL on a malformed row. */
int audit_row_entry(sqlite3_stmt *st, struct audit_entry *ret);

/* For the witness (uplink / store server) and `mamori audit prove`: read the
 * log in db_path (read-only, one snapshot) and answer from its entries. */

/* The checkpoint with the largest size (MAMORI_ERR_NOTFOUND when none). */
int audit_db_latest_checkpoint(const char *db_path, struct audit_checkpoint *ret);
/* The checkpoint signed for exactly size entries. */
int audit_db_checkpoint(const char *db_path, uint64_t size, struct audit_checkpoint *ret);
/* Inclusion proof of entry seq in the tree of the first size entries: the
 * proof (room for MERKLE_MAX_PROOF 32-byte hashes, back to back), its length,
 * the leaf hash and the root of that tree. MAMORI_ERR_INVAL unless
 * seq < size <= entries. */
int audit_db_inclusion(const char *db_path, uint64_t seq, uint64_t size, uint8_t *ret_proof, size_t *ret_n,
                       uint8_t ret_leaf[static 32], uint8_t ret_root[static 32]);
/* Consistency proof between the trees of the first size1 and size2 entries
 * (0 < size1 <= size2 <= entries), with both roots. */
int audit_db_consistency(const char *db_path, uint64_t size1, uint64_t size2, uint8_t *ret_proof, size_t *ret_n,
                         uint8_t ret_root1[static 32], uint8_t ret_root2[static 32]);

struct audit_export_info {
    uint64_t entries;
    uint64_t checkpoints;
    bool tail_sealed;   /* the seal state allowed a tail tag */
    bool seal_state;    /* a seal state file was read */
    uint64_t seal_epoch;/* its epoch (> entries: the tail was cut) */
};

/* Write the bundle of the log in db_path to out. seal_path (NULL: none) is the
 * terminal's seal state, used only to compute the tail tag. */
int audit_bundle_export(const char *db_path, const char *seal_path, FILE *out, struct audit_export_info *ret_info);

struct audit_verify_result {
    bool ok;
    uint64_t entries;          /* entries verified */
    uint64_t checkpoints;      /* checkpoints verified */
    uint64_t last_ckpt_size;   /* entries covered by the last signed checkpoint */
    bool tail_sealed;          /* END carried a valid tail tag */
    uint64_t rotations;        /* signing-key hand-overs followed */
    char where[48];            /* "entry 17", "checkpoint 2000", "end", "bundle" */
    uint64_t bad_seq;          /* the entry named in where (when an entry) */
    char reason[200];
};

struct audit_bverifier;

/* Progress callback (entries verified so far), called every 65536 entries. */
typedef void (*audit_progress_fn)(void *ctx, uint64_t entries);

int audit_bverifier_new(const struct audit_vkeys *k, struct audit_bverifier **ret);
/* A copy of the state (to resume from the same position on other bytes). */
int audit_bverifier_dup(const struct audit_bverifier *v, struct audit_bverifier **ret);
/* Overwrite dst with the state of src (both from audit_bverifier_new/dup). */
void audit_bverifier_copy(struct audit_bverifier *dst, const struct audit_bverifier *src);
void audit_bverifier_free(struct audit_bverifier *v);
void audit_bverifier_progress(struct audit_bverifier *v, audit_progress_fn fn, void *ctx);
/* Consume the header. */
__attribute__((warn_unused_result)) int audit_bverifier_header(struct audit_bverifier *v, struct buf *b);
/* Consume and check one record. 0 and *ret_done=true after END (and no
 * trailing bytes); MAMORI_ERR_AUTH when verification fails (see result). */
__attribute__((warn_unused_result)) int audit_bverifier_step(struct audit_bverifier *v, struct buf *b,
                                                             bool *ret_done);
/* Step to the end. */
__attribute__((warn_unused_result)) int audit_bverifier_run(struct audit_bverifier *v, struct buf *b);
/* The verdict so far. */
void audit_bverifier_result(const struct audit_bverifier *v, struct audit_verify_result *ret);

/* Verify a whole bundle in memory. 0 verified; MAMORI_ERR_AUTH when not (res
 * names the first bad entry and why); other errors for resources. */
__attribute__((warn_unused_result)) int audit_bundle_verify(const uint8_t *p, size_t n, const struct audit_vkeys *k,
                                                            struct audit_verify_result *res);
/* The same, calling fn as entries are verified (progress display). */
__attribute__((warn_unused_result)) int audit_bundle_verify_progress(const uint8_t *p, size_t n,
                                                                     const struct audit_vkeys *k,
                                                                     audit_progress_fn fn, void *ctx,
                                                                     struct audit_verify_result *res);

#endif
