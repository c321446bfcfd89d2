/*
 * devcash: the cash facts in device logs, for reconciliation (POL-8(1)).
 * Reads the (already verified) entries of the terminal's devlog_store and
 * turns the change machine's deposits/dispenses and the drawer's opens into
 * the structured inputs of reconcile.h.
 *
 * Device log events and their CBOR details (the firmware writes them with
 * devlog_append; docs/audit-events.md):
 *   changer.deposit / changer.dispense  {"ref": text (optional), "denoms": {"1000": 2, ...}}
 *                                       (denomination keys as text or unsigned integers)
 *   drawer.open                         {"ref": text (optional), "manual": bool (optional)}
 * Limits: DEVCASH_MAX_DETAIL_PAIRS map entries, refs of at most 64 bytes.
 */
#ifndef MAMORI_DEVCASH_H
#define MAMORI_DEVCASH_H

#include <stddef.h>
#include <stdint.h>

#include "audit/devlog.h"
#include "audit/reconcile.h"

#define DEVCASH_MAX_DETAIL_PAIRS 16
#define DEVCASH_REF_MAX 64

#define DEVCASH_EV_DEPOSIT "changer.deposit"
#define DEVCASH_EV_DISPENSE "changer.dispense"
#define DEVCASH_EV_DRAWER_OPEN "drawer.open"

enum devcash_kind { DEVCASH_NONE = 0, DEVCASH_MOVE, DEVCASH_OPEN };

/* One entry's cash fact. ref/serial are copied here (not pointers). */
struct devcash_fact {
    enum devcash_kind kind;
    enum recon_dir dir;              /* MOVE */
    int32_t count[RECON_DENOMS];     /* MOVE */
    int manual;                      /* OPEN */
    int has_ref;
    char ref[DEVCASH_REF_MAX + 1];
};

/* Classify one entry: DEVCASH_NONE for events that move no cash; else parse
 * its details. MAMORI_ERR_INVAL when a cash event's details are malformed. */
int devcash_classify(const char *event, const uint8_t *details, size_t n, struct devcash_fact *ret);

/* Everything collected from a store for a time window; the recon_move /
 * recon_drawer_open arrays point into strings owned by the set. */
struct devcash_set {
    struct recon_move *moves;
    size_t n_moves;
    struct recon_drawer_open *opens;
    size_t n_opens;
    size_t malformed; /* cash entries whose details could not be read */
    char **strings;
    size_t n_strings;
};

/* Collect from store s the cash facts with from_ns <= time <= to_ns, in time
 * order. At most RECON_MAX_ITEMS of each kind (MAMORI_ERR_TOOBIG beyond). */
int devlog_store_collect(struct devlog_store *s, int64_t from_ns, int64_t to_ns, struct devcash_set **ret);
void devcash_set_free(struct devcash_set *set);

#endif
