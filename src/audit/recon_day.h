/*
 * recon_day: a day's cash movements as a JSON file, for `mamori audit
 * reconcile --day FILE` (the demo, and a store server replaying a day). The
 * register builds struct recon_input directly; this is the outside-bytes path.
 *
 *   {"start": {"time": T, "counts": {"10000": 50, ...}}, "end": {...},
 *    "sessions":    [{"operator": "op-A", "from": T, "to": T}],
 *    "journal":     [{"time": T, "dir": "in"|"out", "ref": "T0001", "operator": "op-A",
 *                     "denoms": {"1000": 2}}],
 *    "device":      [{"time": T, "dir": "out", "ref": null, "serial": "CHG-0001", "seq": 99,
 *                     "denoms": {"1000": 2}}],
 *    "drawer_log":  [{"time": T, "ref": "T0001", "serial": "DRW-0001", "seq": 3, "manual": false}],
 *    "drawer_cmds": [{"time": T, "ref": "T0001", "operator": "op-A"}]}
 *   T = unix seconds (integer) or "YYYY-MM-DDTHH:MM:SSZ".
 * Limits: RECON_DAY_MAX_BYTES of JSON, RECON_MAX_ITEMS per list, strings of
 * at most 64 bytes, denominations from recon_denom_value only.
 */
#ifndef MAMORI_RECON_DAY_H
#define MAMORI_RECON_DAY_H

#include <stddef.h>

#include "audit/reconcile.h"

#define RECON_DAY_MAX_BYTES (8u << 20)

struct recon_day;

/* Parse n bytes of JSON. MAMORI_ERR_INVAL (malformed), MAMORI_ERR_TOOBIG. */
int recon_day_parse(const char *json, size_t n, struct recon_day **ret);
/* The reconciliation input (valid while day lives). */
const struct recon_input *recon_day_input(const struct recon_day *day);
void recon_day_free(struct recon_day *day);

#endif
