/*
 * service: the register hosted inside mamori-terminald (OPS-1..6 on the
 * secure bus): the engine (txn.h) with its journal, item master and operator
 * database in the terminal's state directory, its devices through the UPOS
 * device API (busdev.h over devapi.h), scanner and keyboard input, and the
 * local HTTP+JSON API socket (api.h).
 *
 * Configuration: section [pos] of the terminal's INI (every key has an
 * embedded default; see pos_service_default_config). After a restart the
 * open transaction is recovered from the journal (resumed, with interrupted
 * cash commands finished under their original idempotency keys).
 */
#ifndef MAMORI_POS_SERVICE_H
#define MAMORI_POS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <cbor.h>

struct evloop;
struct bus;
struct config;
struct audit;
struct pos_service;

/* The embedded [pos] defaults (INI text, for --print-config and docs). */
extern const char pos_service_default_config[];

/* Observers of every bus event / attach change that the service must pass on
 * (the terminal's own records), since the device API takes the bus's single
 * callback slots. Any may be NULL. */
struct pos_service_observer {
    void (*on_event)(void *ctx, const char *serial, const char *type, const cbor_item_t *body);
    void (*on_attach)(void *ctx, const char *serial, bool attached, const char *reason);
    void *ctx;
};

/* Start the register in state_dir (unless [pos] enabled = false: then 0 and
 * *ret NULL). cfg, bus, audit borrowed; must outlive the service. On a
 * configuration error err names file:line. */
int pos_service_start(struct evloop *l, struct bus *b, struct config *cfg, const char *state_dir,
                      struct audit *audit, const struct pos_service_observer *obs,
                      struct pos_service **ret, char *err, size_t errlen);
/* Stop and free; NULL-safe. */
void pos_service_stop(struct pos_service *s);

#endif
