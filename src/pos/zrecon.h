/*
 * zrecon: the cash reconciliation of the Z report (POL-1, POL-8(1); issue 5).
 * Puts the three sources of src/audit/reconcile.h together for one register
 * and runs it:
 *   - the journal's cash commands of the period (cash_cmds: drawer opens,
 *     dispenses, deposits, each with its idempotency key as ref),
 *   - the device logs of the change machine and the drawer, fetched now
 *     (logsync) and read from the verified store (devcash),
 *   - the change machine's cassette counts, asked now ("changer.counts"),
 *     against the counts stored at the previous Z.
 * The period runs from the previous Z (stored in the device-log store's
 * database, table zrecon_z) to now. The operators of each discrepancy's
 * window come from the sign-on/sign-off records of the audit log. Every
 * discrepancy is recorded as "cash.discrepancy".
 *
 * The journal records amounts, not denominations (the change machine picks
 * the pieces): a journal command whose device entry has the same ref and the
 * same yen value takes that entry's denominations; otherwise its amount is
 * broken down greedily, so any difference in value shows.
 */
#ifndef MAMORI_ZRECON_H
#define MAMORI_ZRECON_H

#include <stdint.h>

#include <jansson.h>

#include "audit/reconcile.h"

struct journal;
struct bus;
struct logsync;
struct devlog_store;
struct audit;

#define ZRECON_SESSIONS_MAX 4096 /* sign-on sessions read for one period */

struct zrecon_src {
    struct journal *journal;
    const char *terminal;   /* the register's terminal id in the journal */
    struct bus *bus;        /* for the devices (kind changer / drawer) and counts */
    struct logsync *logsync; /* may be NULL: use what is stored */
    struct devlog_store *store;
    struct audit *audit;    /* findings recorded here */
    const char *audit_path; /* the audit database (sign-on sessions), read only; may be NULL */
};

struct zrecon_result {
    int64_t from_ns, to_ns;
    int counts_checked;     /* cassette counts compared (a previous Z had them) */
    struct recon_report report;
};

/* Reconcile the period ending now for Z number z_no; *ret (caller-allocated,
 * large) filled. */
int zrecon_run(const struct zrecon_src *src, int64_t z_no, struct zrecon_result *ret);
/* The result as JSON for the Z report (new reference, NULL on OOM). */
json_t *zrecon_json(const struct zrecon_result *r);

#endif
