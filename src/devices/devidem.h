/*
 * devidem: idempotency keys for commands that move money (drawer open,
 * change dispense, deposit fix, e-money deduction).
 *
 * The terminal sends each such command with an idempotency key ("idem"). The
 * device remembers the key, a fingerprint of the request and the reply it
 * gave; a retry with the same key and fingerprint gets the first reply again
 * and causes no second action; the same key with a different fingerprint is
 * refused (MAMORI_ERR_EXISTS), so a key cannot be reused for another amount.
 * The last DEVIDEM_MAX keys are kept (oldest forgotten first) and persisted
 * with the device state, so a retry after a device restart is also answered.
 */
#ifndef MAMORI_DEVIDEM_H
#define MAMORI_DEVIDEM_H

#include <stddef.h>

#include <cbor.h>

#define DEVIDEM_MAX 256     /* remembered keys per device */
#define DEVIDEM_KEY_MAX 64  /* bytes in one key */
#define DEVIDEM_FP_MAX 160  /* bytes in one request fingerprint */

struct devidem_entry {
    char key[DEVIDEM_KEY_MAX + 1];
    char fp[DEVIDEM_FP_MAX + 1];
    cbor_item_t *reply;
};

struct devidem {
    struct devidem_entry e[DEVIDEM_MAX];
    size_t n;    /* used entries */
    size_t next; /* slot written next (the oldest once full) */
};

void devidem_init(struct devidem *d);
/* Release every remembered reply. NULL-safe. */
void devidem_clear(struct devidem *d);
/* 0 and *ret_reply (a new reference) when key was seen with this fingerprint;
 * MAMORI_ERR_NOTFOUND when unseen; MAMORI_ERR_EXISTS when seen with another. */
int devidem_lookup(const struct devidem *d, const char *key, const char *fp,
                   cbor_item_t **ret_reply);
/* Remember key -> reply (takes a new reference to reply). */
int devidem_put(struct devidem *d, const char *key, const char *fp, cbor_item_t *reply);

/* Forget key (used to undo a put whose state could not be saved). */
void devidem_forget(struct devidem *d, const char *key);

/* Serialise as an array of [key, fp, reply], oldest first (NULL on ENOMEM). */
cbor_item_t *devidem_to_cbor(const struct devidem *d);
/* Load from devidem_to_cbor's form; d must be freshly initialised. */
int devidem_from_cbor(struct devidem *d, const cbor_item_t *arr);

#endif
