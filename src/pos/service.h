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

struct evloop;
struct devapi;
struct config;
struct audit;
struct pos_service;

/* The embedded [pos] defaults (INI text, for --print-config and docs). */
extern const char pos_service_default_config[];

/* Start the register in state_dir on the terminal's device API. [pos]
 * enabled = auto (default) starts it only when the item master exists in
 * state_dir; false never (0 and *ret NULL); true always. cfg, api, audit borrowed; must
 * outlive the service. On a configuration error err names file:line. */
int pos_service_start(struct evloop *l, struct devapi *api, struct config *cfg,
                      const char *state_dir, struct audit *audit, struct pos_service **ret,
                      char *err, size_t errlen);
struct bus;
struct logsync;
struct devlog_store;
/* Cash reconciliation at the Z report (src/pos/zrecon.h): the terminal's bus,
 * device-log fetcher and store, and its audit database path (sign-on
 * sessions), all borrowed. Without this call the Z report has none. */
void pos_service_set_cash_sources(struct pos_service *s, struct bus *bus, struct logsync *ls,
                                  struct devlog_store *store, const char *audit_path);
/* Stop and free; NULL-safe. */
void pos_service_stop(struct pos_service *s);

#endif
