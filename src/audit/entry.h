/*
 * entry: the canonical bytes of an audit entry (a Merkle leaf and the sealed
 * message) and of the signed checkpoint and tail messages. One encoding, used
 * by the writer, the exporter and every verifier; docs/audit.md specifies it.
 *
 * Entry (big-endian integers):
 *   "MAE1" | u64 seq | i64 time_ns | ostr operator | ostr role | ostr process
 *   | u16 len, event | u32 len, details (compact JSON, data-class redacted)
 *   ostr = u16 len (0xFFFF: absent) then the bytes.
 * Sealed as MAC(key_seq, entry || u64 seq): the epoch of an entry is its seq.
 *
 * Checkpoint message (signed with Ed25519 and tagged with the seal key of
 * epoch size):  "mamori-audit-checkpoint-v1\n" | u64 size | root[32] | i64 time_ns
 * Tail message (tagged with the seal key of epoch count, at export):
 *   "mamori-audit-tail-v1\n" | u64 count | root[32]
 */
#ifndef MAMORI_AUDIT_ENTRY_H
#define MAMORI_AUDIT_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define AUDIT_ACTOR_MAX 256           /* operator id, role, process name */
#define AUDIT_EVENT_MAX 128           /* event name */
#define AUDIT_DETAILS_MAX (64 * 1024) /* rendered details JSON */
#define AUDIT_ENTRY_MAX (4 + 8 + 8 + 3 * (2 + AUDIT_ACTOR_MAX) + 2 + AUDIT_EVENT_MAX + 4 + AUDIT_DETAILS_MAX)
#define AUDIT_ROOT_LEN 32
#define AUDIT_MAC_LEN 32
#define AUDIT_SIG_LEN 64
#define AUDIT_CKPT_MSG_LEN (27 + 8 + AUDIT_ROOT_LEN + 8)
#define AUDIT_TAIL_MSG_LEN (21 + 8 + AUDIT_ROOT_LEN)

/* A string that may be absent; not NUL-terminated when decoded. */
struct audit_str {
    const char *p;
    size_t n;
    bool present;
};

struct audit_entry {
    uint64_t seq;
    int64_t time_ns;
    struct audit_str op, role, process, event, details;
};

struct audit_checkpoint {
    uint64_t size;
    uint8_t root[AUDIT_ROOT_LEN];
    int64_t time_ns;
    uint8_t sig[AUDIT_SIG_LEN];
    uint8_t tag[AUDIT_MAC_LEN];
};

/* A present string from a C string (NULL: absent). */
struct audit_str audit_str_of(const char *s);

/* Append the canonical bytes of e to out. MAMORI_ERR_INVAL when a field is
 * over its limit, the event is empty or a string holds a NUL byte. */
int audit_entry_encode(const struct audit_entry *e, struct buf *out);
/* Decode exactly n bytes; the strings point into p. MAMORI_ERR_INVAL /
 * MAMORI_ERR_SHORT / MAMORI_ERR_TRAILING on malformed input. */
int audit_entry_decode(const uint8_t *p, size_t n, struct audit_entry *ret);

void audit_checkpoint_message(const struct audit_checkpoint *c, uint8_t out[static AUDIT_CKPT_MSG_LEN]);
void audit_tail_message(uint64_t count, const uint8_t root[static AUDIT_ROOT_LEN],
                        uint8_t out[static AUDIT_TAIL_MSG_LEN]);

#endif
