/*
 * device: the contract between a simulated peripheral's firmware logic
 * (src/devices/KIND.c) and the process that runs it (mamori-devsim).
 *
 * The firmware sees only decoded bus messages and control-interface commands;
 * it never sees sockets, frames or keys of the bus. The runner owns identity,
 * the secure session and pairing; the firmware owns the device's behaviour
 * and state (in its own state directory).
 *
 * Message bodies are CBOR maps (libcbor items); see docs/protocol.md for every
 * message of every class.
 */
#ifndef MAMORI_DEVICE_H
#define MAMORI_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "common/buf.h"

/* What the firmware may do to the outside; provided by the runner. */
struct device_io {
    void *ctx;
    /* Send an unsolicited event (e.g. "scanner.data") to the terminal.
     * Takes ownership of body (a CBOR map, may be NULL). 0 or MAMORI_ERR_OFFLINE. */
    int (*emit)(void *ctx, const char *type, cbor_item_t *body);
    /* Append an entry to the device's own signed hash-chained log (POL-8(1),
     * src/audit/devlog.h): event name (e.g. "changer.dispense") and details
     * (a CBOR map or NULL; takes ownership). Returns 0 only when the entry is
     * durable, so firmware calls it before the action and its reply and
     * refuses the action when it fails. Details never hold a PIN or clear
     * card data (masked PAN, KCV at most). May be NULL (nothing recorded). */
    int (*record)(void *ctx, const char *event, cbor_item_t *details);
    /* Sign a device record with the device's own Ed25519 key (the log key
     * of its certificate, pinned in the terminal's registry at enrolment;
     * the runner holds it, the firmware never does). The runner signs only
     * messages that start with a record magic it knows (src/devices/emrec.h),
     * so this cannot forge a device log entry. 0 or a negative error. May be
     * NULL: firmware then refuses what needs a signature. */
    int (*sign)(void *ctx, const uint8_t *msg, size_t n, uint8_t ret_sig[static 64]);
    /* The device's serial as in its certificate (NULL when unknown). */
    const char *serial;
};

/* io->record if the runner provides one (0 otherwise); takes details. */
int device_record(const struct device_io *io, const char *event, cbor_item_t *details);
/* device_record with details {key: value} (key NULL: an empty map). */
int device_record_str(const struct device_io *io, const char *event, const char *key, const char *value);

struct device_class {
    const char *kind;      /* "scanner", "msr", ... as given to mamori-devsim --kind */
    const char *model;     /* model name written into the manufacturer certificate */
    const char *upos_name; /* UnifiedPOS device category, e.g. "Scanner", "CashDrawer" */

    /* Create firmware state; state_dir exists and is private to this device. */
    int (*create)(const char *state_dir, const struct device_io *io, void **ret_state);
    /* Destroy (NULL-safe), wiping secrets. */
    void (*destroy)(void *state);
    /* A request from the terminal. type is the message type ("drawer.open"),
     * body the CBOR map (borrowed, may be NULL). On success *ret_reply is a new
     * CBOR map (owned by the caller) or NULL for an empty reply. A negative
     * MAMORI_ERR_* becomes an error reply with that code. */
    int (*request)(void *state, const char *type, const cbor_item_t *body, cbor_item_t **ret_reply);
    /* A control-interface command standing for the physical world
     * ("scan 4901234567894", "weight 352 stable", "tamper"); argv[0] is the verb.
     * Writes a one-line human-readable answer into answer. */
    int (*control)(void *state, int argc, char **argv, struct buf *answer);
};

/* The class for kind, or NULL. */
const struct device_class *device_class_find(const char *kind);
/* All classes, NULL-terminated. */
const struct device_class *const *device_classes(void);

#endif
