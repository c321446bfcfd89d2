/*
 * devlog: device-side logs (POL-8(1), ARCHITECTURE §6). The drawer, change
 * machine, PIN pad, MSR and IC reader each keep their own hash-chained log,
 * every entry signed with the device's Ed25519 log key. The terminal relays
 * and stores them; anyone holding only the device's public key (from its
 * manufacturer certificate) can verify them later, e.g. at the store server,
 * without trusting the terminal.
 *
 * Entry (big-endian; at most DEVLOG_ENTRY_MAX bytes):
 *   signed part: "MDL1" | u16 len, serial | u64 seq | i64 time_ns
 *                | u16 len, event | u32 len, details (a CBOR map) | prev[32]
 *   then sig[64] = Ed25519(device log key, signed part)
 *   hash(entry) = BLAKE2b-256(signed part || sig); prev of seq 0 is 32 zero bytes.
 * An exported device log is a sequence of entries, each preceded by its u32 length.
 *
 * Details never hold a PIN or clear card data (masked PAN at most); cash
 * events carry their denominations: e.g. changer.dispense
 * {"txn": "...", "denoms": {"1000": 2, "100": 3}} (see docs/audit-events.md).
 *
 * Verification of the next entry against a chain position reports, in this
 * order: malformed, wrong device, bad signature, replay (seq already seen),
 * gap (seq skipped: entries withheld), rewritten (valid signature but prev
 * does not match: the history was forked).
 */
#ifndef MAMORI_DEVLOG_H
#define MAMORI_DEVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct keys;
struct audit;

#define DEVLOG_SERIAL_MAX 64
#define DEVLOG_EVENT_MAX 64
#define DEVLOG_DETAILS_MAX 4096
#define DEVLOG_HASH_LEN 32
#define DEVLOG_SIG_LEN 64
#define DEVLOG_ENTRY_MAX (4 + 2 + DEVLOG_SERIAL_MAX + 8 + 8 + 2 + DEVLOG_EVENT_MAX + 4 + DEVLOG_DETAILS_MAX + 32 + 64)
/* Entries one exported device log file may hold. */
#define DEVLOG_FILE_MAX_ENTRIES (1u << 24)

struct devlog_entry {
    char serial[DEVLOG_SERIAL_MAX + 1];
    uint64_t seq;
    int64_t time_ns;
    char event[DEVLOG_EVENT_MAX + 1];
    uint8_t details[DEVLOG_DETAILS_MAX];
    size_t details_len;
    uint8_t prev[DEVLOG_HASH_LEN];
    uint8_t sig[DEVLOG_SIG_LEN];
};

/* A position in one device's chain: the writer's (device side) and the
 * verifier's (terminal, store server) are the same shape. */
struct devlog_chain {
    char serial[DEVLOG_SERIAL_MAX + 1];
    uint64_t next_seq;
    uint8_t last_hash[DEVLOG_HASH_LEN];
};

enum devlog_verdict {
    DEVLOG_OK = 0,
    DEVLOG_MALFORMED,
    DEVLOG_WRONG_DEVICE,
    DEVLOG_BAD_SIGNATURE,
    DEVLOG_REPLAY,
    DEVLOG_GAP,
    DEVLOG_REWRITTEN,
};

/* "ok", "malformed", "wrong-device", "bad-signature", "replay", "gap", "rewritten". */
const char *devlog_verdict_name(enum devlog_verdict v);

/* A fresh chain for serial (seq 0, zero hash). MAMORI_ERR_INVAL if too long. */
int devlog_chain_init(struct devlog_chain *c, const char *serial);

/* Device side: build, sign (keys_sign with the device's log key) and append
 * the next entry to out (framed: u32 length first), advancing c. details is
 * an encoded CBOR map (may be NULL/0 for an empty map). */
int devlog_append(struct devlog_chain *c, struct keys *log_key, const char *event, const uint8_t *details,
                  size_t details_len, int64_t time_ns, struct buf *out);

/* Encode e (signed part + sig, unframed). */
int devlog_encode(const struct devlog_entry *e, struct buf *out);
/* Decode exactly n bytes of one unframed entry. */
int devlog_decode(const uint8_t *p, size_t n, struct devlog_entry *ret);
/* Read one framed entry from b (u32 length, then the entry). */
int devlog_read(struct buf *b, struct devlog_entry *ret);
/* hash(e) as defined above. */
int devlog_hash(const struct devlog_entry *e, uint8_t ret[static DEVLOG_HASH_LEN]);

/* Check e as the next entry of chain c with the device public key pub.
 * On DEVLOG_OK and DEVLOG_GAP (a withheld range; the entry itself is genuine)
 * the chain moves to e; otherwise it stays. Returns 0 with *ret set, or a
 * negative error for resources. */
__attribute__((warn_unused_result)) int devlog_verify_next(struct devlog_chain *c, const uint8_t pub[static 32],
                                                           const struct devlog_entry *e,
                                                           enum devlog_verdict *ret);

struct devlog_file_result {
    uint64_t entries;       /* entries read */
    uint64_t ok;            /* entries that verified in sequence */
    uint64_t first_bad;     /* index in the file of the first problem */
    enum devlog_verdict verdict; /* DEVLOG_OK when the whole file verified */
    char reason[160];
};

/* Verify an exported device log (from seq 0) with only the public key. 0 when
 * it verified; MAMORI_ERR_AUTH with res saying where and why otherwise. */
__attribute__((warn_unused_result)) int devlog_verify_file(const uint8_t *p, size_t n, const uint8_t pub[static 32],
                                                           struct devlog_file_result *res);

/* Terminal-side store (SQLite): each enrolled device's public key, its stored
 * entries, and the position in its sequence. Problems are recorded through
 * audit (devlog.gap, devlog.bad_signature, devlog.replay, devlog.rewritten,
 * devlog.wrong_device, devlog.malformed) with the device serial and seqs. */
struct devlog_store;

int devlog_store_open(const char *path, struct audit *audit, struct devlog_store **ret);
void devlog_store_close(struct devlog_store *s);
/* Register a device's log key (from its verified manufacturer certificate). */
int devlog_store_enroll(struct devlog_store *s, const char *serial, const uint8_t pub[static 32]);
/* The device was re-enrolled (dual control) with a new log key under the
 * same serial, e.g. a swapped unit: retire the old chain (its key, end and
 * entries move to devlog_retired / devlog_entry_retired, kept for
 * reconciliation and audit) and expect the new key's chain from seq 0.
 * Audited devlog.rekeyed. MAMORI_ERR_EXISTS when pub is already the key,
 * MAMORI_ERR_NOTFOUND for an unknown serial. */
int devlog_store_rekey(struct devlog_store *s, const char *serial, const uint8_t pub[static 32],
                       uint64_t *ret_retired);
/* Verify one framed-or-unframed entry fetched from the device and store it
 * when genuine (OK or GAP). *ret_verdict says what was found. */
int devlog_store_ingest(struct devlog_store *s, const uint8_t *entry, size_t n, enum devlog_verdict *ret_verdict);
/* The next seq expected from the device (what the terminal asks for next). */
int devlog_store_position(struct devlog_store *s, const char *serial, uint64_t *ret_next);
/* Write the device's stored entries as an exported device log (framed). */
int devlog_store_export(struct devlog_store *s, const char *serial, struct buf *out);
/* The store's SQLite handle, for readers in this library (devcash.c). */
struct sqlite3 *devlog_store_db(struct devlog_store *s);

#endif
