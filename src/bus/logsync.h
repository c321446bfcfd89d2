/*
 * logsync: the terminal fetching the devices' own signed logs (POL-8(1)).
 *
 * For each attached device the terminal asks "KIND.log_fetch" {from_seq, max}
 * (docs/protocol.md) from its position in that device's sequence and feeds
 * every entry to the device-log store (src/audit/devlog.h), which verifies it
 * with the log key of the device's manufacturer certificate (from the
 * registry) and records gaps, bad signatures, replays and rewritten entries
 * as audit events. Fetches run on attach (shortly after, from a timer: a
 * synchronous request inside the device's own attach callback cannot get its
 * reply) and every period_ms, and on demand (the Z report, the control
 * command "devlog-sync", `mamori devices log`).
 *
 * Fetched by themselves (attach, period, logsync_fetch_all): the classes the
 * guideline names as keeping logs (drawer, changer, pinpad, msr, icreader);
 * any enrolled device on demand (logsync_fetch).
 *
 * A device whose reply says its log ends at `end` but that returns nothing
 * from the terminal's position on is withholding entries: recorded once per
 * fetch as "devlog.withheld". A device without a log (UNSUPPORTED) is
 * skipped quietly.
 */
#ifndef MAMORI_LOGSYNC_H
#define MAMORI_LOGSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;
struct bus;
struct registry;
struct devlog_store;
struct audit;

#define LOGSYNC_FETCH_MAX 256      /* entries asked for in one request */
#define LOGSYNC_ROUNDS_MAX 4096    /* requests in one fetch of one device */
#define LOGSYNC_TIMEOUT_MS 3000    /* one request */
#define LOGSYNC_DUE_MAX 64         /* attached devices waiting for their first fetch */

struct logsync_config {
    struct evloop *loop;
    struct bus *bus;
    struct registry *reg;
    struct devlog_store *store;
    struct audit *audit;
    int64_t period_ms; /* 0: no periodic fetch */
};

struct logsync_result {
    uint64_t fetched;  /* entries received */
    uint64_t stored;   /* genuine entries stored (ok or after a gap) */
    uint64_t problems; /* entries with another verdict, plus withheld ranges */
    uint64_t position; /* next seq expected from the device afterwards */
    uint64_t end;      /* the device's own next seq, as it says */
};

struct logsync;

int logsync_new(const struct logsync_config *cfg, struct logsync **ret);
void logsync_free(struct logsync *ls);
/* For devapi_observe(): schedules the fetch of a device that attached. */
void logsync_on_attach(void *ctx, const char *serial, bool attached, const char *reason);
/* Fetch one device's new entries now (synchronous: runs the loop until the
 * replies come). MAMORI_ERR_BUSY when called from inside another fetch,
 * MAMORI_ERR_NOTFOUND for a serial that is not enrolled. */
int logsync_fetch(struct logsync *ls, const char *serial, struct logsync_result *ret);
/* Fetch every attached device; the number of problems found in *ret_problems. */
int logsync_fetch_all(struct logsync *ls, uint64_t *ret_problems);

#endif
