/*
 * seal: forward-secure sealing of an append-only log (POL-7, PRE-1).
 *
 *   key_0      random, made at provisioning and exported once for the verifier
 *   key_{i+1}  = BLAKE2b-256("mamori-seal-evolve" || key_i); key_i is wiped
 *   MAC        = BLAKE2b-256 keyed with key_e over (msg || u64be(e))
 *
 * The epoch is per entry: entry e is sealed with key_e and the key then moves
 * to e+1. Whoever takes the terminal at epoch e holds only key_e (and what can
 * be hashed forward from it), so entries 0..e-1 can no longer be forged or
 * re-sealed. A "tag" is a MAC with the current key that does not evolve it: it
 * binds a checkpoint or an export to the current epoch (a log cut back to n
 * entries would need key_n for its tail tag, which no longer exists).
 *
 * The current key is persisted in its own state file with two slots, each
 * {magic, epoch, key, BLAKE2b check}. seal_persist() overwrites the older slot
 * in place and fsyncs, then the other slot, and fsyncs again, so a torn write
 * always leaves one valid slot, and no disk block that held an old key is ever
 * freed with it still inside (on an overwrite-in-place filesystem; copy-on-write
 * filesystems and SSD wear levelling can keep old copies below the file system:
 * see docs/audit.md).
 *
 * The key stays in guarded memory (guard pages, mlock, wiped on free) and is
 * kept readable while the object lives: toggling protection per entry would
 * cost two system calls per append.
 */
#ifndef MAMORI_SEAL_H
#define MAMORI_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32
#define SEAL_MAC_LEN 32

struct seal;

/* Provisioning: a fresh key_0 at epoch 0, persisted to path (which must not
 * exist: MAMORI_ERR_EXISTS). key_0 is copied to ret_key0 for export; the caller
 * wipes it after exporting. path may be NULL for an in-memory sealer. */
int seal_create(const char *path, uint8_t ret_key0[static SEAL_KEY_LEN], struct seal **ret);
/* Load the state file (the valid slot with the higher epoch). */
int seal_open(const char *path, struct seal **ret);
/* An in-memory sealer starting at key0, epoch 0 (tests, benchmarks). */
int seal_from_key(const uint8_t key0[static SEAL_KEY_LEN], struct seal **ret);
/* The same for a key known to be key_epoch (e.g. read from a state file). */
int seal_from_key_at(const uint8_t key[static SEAL_KEY_LEN], uint64_t epoch, struct seal **ret);
/* Wipe and free; NULL-safe. */
void seal_free(struct seal *s);

uint64_t seal_epoch(const struct seal *s);

/* MAC msg with the current epoch's key, return that epoch, then evolve the
 * key (the old one is wiped from memory; from disk at the next seal_persist). */
int seal_entry(struct seal *s, const uint8_t *msg, size_t n, uint8_t ret_mac[static SEAL_MAC_LEN],
               uint64_t *ret_epoch);
/* MAC msg with the current key without evolving it. */
int seal_tag(struct seal *s, const uint8_t *msg, size_t n, uint8_t ret_mac[static SEAL_MAC_LEN]);
/* Evolve forward to epoch (>= current; MAMORI_ERR_STATE if earlier). */
int seal_advance(struct seal *s, uint64_t epoch);
/* Snapshot (in memory) and restore, so a writer whose transaction failed can
 * return to the epoch of its last durable entry: the snapshot key is one that
 * has sealed nothing durable yet. The caller frees the snapshot. */
int seal_dup(const struct seal *s, struct seal **ret);
void seal_restore(struct seal *s, const struct seal *snap);
/* Write the current key and epoch to the state file (no-op in memory). */
int seal_persist(struct seal *s);

/* Offline verifier: starts from key_0 and only moves forward. */
struct seal_verifier;

int seal_verifier_new(const uint8_t key0[static SEAL_KEY_LEN], struct seal_verifier **ret);
void seal_verifier_free(struct seal_verifier *v);
/* An independent copy at the same epoch. */
int seal_verifier_dup(const struct seal_verifier *v, struct seal_verifier **ret);
/* Overwrite dst with src's key and epoch (no allocation). */
void seal_verifier_copy(struct seal_verifier *dst, const struct seal_verifier *src);
uint64_t seal_verifier_epoch(const struct seal_verifier *v);
/* Check mac over msg claimed for epoch. The verifier derives key_epoch (moving
 * forward; epoch must be >= its current epoch, else MAMORI_ERR_STATE) and
 * compares in constant time: a MAC made with any other epoch's key, earlier
 * or later, fails (MAMORI_ERR_AUTH). */
__attribute__((warn_unused_result)) int seal_verifier_check(struct seal_verifier *v, uint64_t epoch,
                                                            const uint8_t *msg, size_t n,
                                                            const uint8_t mac[static SEAL_MAC_LEN]);
/* True (0) when key is key_epoch: checks a terminal's state file against
 * key_0. Same forward-only rule. */
__attribute__((warn_unused_result)) int seal_verifier_key_is(struct seal_verifier *v, uint64_t epoch,
                                                             const uint8_t key[static SEAL_KEY_LEN]);
/* Read a state file without keeping a sealer: its epoch and key (caller wipes). */
int seal_read_state(const char *path, uint64_t *ret_epoch, uint8_t ret_key[static SEAL_KEY_LEN]);

#endif
