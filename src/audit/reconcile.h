/*
 * reconcile: cash reconciliation core for the Z report (POL-1: cash commands
 * are HIGH; POL-8(1)). Three sources are compared by denomination:
 *   - the journal's expected cash movements (what the application asked for),
 *   - the device logs' deposits and dispenses (what the change machine did,
 *     from its signed log) and the drawer's opens (from the drawer's log),
 *   - the change machine's reported cassette counts at the start and end.
 * Every difference becomes a discrepancy with its time window (from the last
 * reconciled movement before it to the first after it) and the operators
 * signed on in that window; optionally each is recorded as the audit event
 * "cash.discrepancy".
 *
 * Inputs are plain structures (the register wires the journal and device-log
 * store into them); nothing here parses outside bytes.
 */
#ifndef MAMORI_RECONCILE_H
#define MAMORI_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct audit;

/* Japanese yen denominations, largest first. */
#define RECON_DENOMS 10
extern const int32_t recon_denom_value[RECON_DENOMS]; /* 10000 5000 2000 1000 500 100 50 10 5 1 */

#define RECON_MAX_ITEMS 100000 /* per input list */
#define RECON_MAX_OPERATORS 4  /* named per discrepancy */
#define RECON_MAX_FINDINGS 1000

enum recon_dir { RECON_IN = 1, RECON_OUT = 2 };

/* One movement of cash by denomination (counts >= 0; the direction says which
 * way). ref ties a journal movement to the device command it caused (the
 * transaction / idempotency id); NULL when there is none. */
struct recon_move {
    int64_t time_ns;
    enum recon_dir dir;
    const char *ref;
    const char *operator_id; /* journal: who; device: NULL */
    const char *serial;      /* device: which device; journal: NULL */
    uint64_t seq;            /* device: seq in its log */
    int32_t count[RECON_DENOMS];
};

/* A drawer open: from the drawer's log (manual = opened with the physical key)
 * or an application command from the journal. */
struct recon_drawer_open {
    int64_t time_ns;
    const char *ref;
    const char *operator_id;
    const char *serial;
    uint64_t seq;
    int manual;
};

struct recon_session {
    const char *operator_id;
    int64_t from_ns, to_ns;
};

struct recon_counts {
    int64_t time_ns;
    int64_t count[RECON_DENOMS];
};

struct recon_input {
    const struct recon_move *journal; size_t n_journal;
    const struct recon_move *device; size_t n_device;
    const struct recon_drawer_open *drawer_log; size_t n_drawer_log;
    const struct recon_drawer_open *drawer_cmds; size_t n_drawer_cmds;
    const struct recon_session *sessions; size_t n_sessions;
    const struct recon_counts *start, *end; /* cassette counts; NULL to skip that check */
    int64_t drawer_match_ns; /* an unreferenced open matches a command within this; 0: 5 s */
};

enum recon_kind {
    RECON_DEVICE_NOT_IN_JOURNAL = 1, /* e.g. a hidden dispense */
    RECON_JOURNAL_NOT_IN_DEVICE,     /* asked for, not done (or the log withheld) */
    RECON_AMOUNT_MISMATCH,           /* both, different denominations */
    RECON_COUNT_MISMATCH,            /* cassette counts disagree with the logged movements */
    RECON_DRAWER_UNCOMMANDED,        /* drawer opened without an application command */
};

struct recon_finding {
    enum recon_kind kind;
    int64_t from_ns, to_ns;          /* the window */
    int64_t delta[RECON_DENOMS];     /* device minus journal (count: reported minus expected) */
    int64_t amount;                  /* yen value of delta (signed) */
    char ref[65];
    char serial[65];
    uint64_t seq;
    size_t n_operators;
    char operators[RECON_MAX_OPERATORS][65];
};

struct recon_report {
    size_t n;
    struct recon_finding f[RECON_MAX_FINDINGS];
    size_t matched;      /* movements reconciled */
    int truncated;       /* more findings than RECON_MAX_FINDINGS */
};

/* "device-not-in-journal", ... */
const char *recon_kind_name(enum recon_kind k);

/* Reconcile. ret is filled (caller-allocated; large). When audit is non-NULL
 * every finding is also recorded as "cash.discrepancy". 0, MAMORI_ERR_TOOBIG
 * on an input over RECON_MAX_ITEMS, MAMORI_ERR_INVAL on a malformed input. */
int recon_run(const struct recon_input *in, struct audit *audit, struct recon_report *ret);

/* The findings as lines for the Z report. */
int recon_report_text(const struct recon_report *r, struct buf *out);

#endif
