/*
 * devkey: the DUKPT key state of a card device (MSR, PIN pad, IC card
 * reader), kept in its private state directory as dukpt.state (mode 0600):
 * the AES DUKPT future-key registers and the transaction counter
 * (crypto/dukpt.h), never the initial key itself.
 *
 * Without that file the device has no key and must refuse to read cards or
 * take PINs (POL-2). After each transaction the advanced counter is committed
 * to disk before any result leaves the device, so a KSN is never used twice,
 * not even across a crash. Tamper erases the state at once.
 *
 * Key injection (issue 4: a TR-31 key block unwrapped under the key-block
 * protection key of the ceremony) ends in devkey_install().
 */
#ifndef MAMORI_DEVKEY_H
#define MAMORI_DEVKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/dukpt.h"

#define DEVKEY_FILE "dukpt.state"

struct devkey;

/* The key state of the device at state_dir (no file: no key). A present but
 * unreadable file is MAMORI_ERR_INVAL (fail closed: not silently keyless). */
int devkey_open(const char *state_dir, struct devkey **ret);
/* Wipe and free. NULL-safe. */
void devkey_free(struct devkey *k);
bool devkey_present(const struct devkey *k);
/* The DUKPT device for cardcrypt calls, or NULL without a key. */
struct dukpt_aes_device *devkey_dukpt(struct devkey *k);
/* Persist the state after a transaction; call before the result leaves. */
int devkey_commit(struct devkey *k);
/* Load an initial key (16/24/32 bytes) with its ID, replacing any key, and persist. */
int devkey_install(struct devkey *k, const uint8_t *ik, size_t ik_len,
                   const uint8_t ikid[static DUKPT_AES_IKID_LEN]);
/* Erase the key in memory and on disk at once (tamper response). */
void devkey_erase(struct devkey *k);

#endif
