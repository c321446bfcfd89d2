/*
 * inject: the terminal-side key injection ceremony over the bus
 * (`mamori keys inject --device SERIAL`, POL-8(3) dual control and split
 * knowledge, issue 4) and the re-injection schedule (`mamori keys status`).
 *
 *   1. two different custodians (role maintainer) authenticate together
 *      (ceremony_authorize -> operators_dual_authorize); one alone, the same
 *      person twice or a wrong role is refused before any key material;
 *   2. each enters one KBPK component and is shown its KCV (the same
 *      components are keyed into the device at its own control interface,
 *      devinject.h); KBPK = component 1 XOR component 2;
 *   3. the payment host's key injection facility (`mamori-payhost issue-ik`,
 *      run as a child with the KBPK on a pipe) derives the device's DUKPT
 *      initial key from the BDK and returns it only as a TR-31 key block
 *      under the KBPK: the terminal never holds the BDK or the clear key;
 *   4. the block goes to the device over the bus (terminald control socket,
 *      "request SERIAL KIND.key_inject"); the device answers the initial
 *      key's KCV, which must equal the facility's.
 * Audit: keys.ceremony.* (ceremony.c) and keys.inject.done / keys.inject.failed
 * with the device, both custodians and KCVs, never a key. The injection
 * time per device is kept in keys.db (SQLite) for the schedule.
 */
#ifndef MAMORI_KEYS_INJECT_H
#define MAMORI_KEYS_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "keys/ceremony.h"
#include "pos/operator.h"

#define INJECT_SERIAL_MAX 64
#define INJECT_KIND_MAX 16
#define INJECT_ANSWER_MAX 4096 /* bytes read from the facility or the terminal */
#define INJECT_TIMEOUT_MS 15000

struct inject_params {
    const char *device;        /* serial */
    const char *ctl_path;      /* terminald control socket */
    const char *payhost_prog;  /* mamori-payhost executable */
    const char *payhost_state; /* the host's state directory (holds the BDK) */
    const char *bdk_id;        /* 8 hex digits */
    const char *db_path;       /* keys.db */
    size_t kbpk_len;           /* 16/24/32 */
};

/* The ceremony asks for a custodian's component (1 or 2) after dual
 * authorization; write up to cap bytes into buf (guarded memory). */
typedef int (*inject_component_fn)(void *ctx, int custodian, uint8_t *buf, size_t cap, size_t *ret_len);
/* What the custodians are shown: "component 1", "component 2", "kbpk", "initial key". */
typedef void (*inject_show_fn)(void *ctx, const char *what, const char *kcv);

struct inject_result {
    char kind[INJECT_KIND_MAX];
    char ikid[17];
    char ik_kcv[CEREMONY_KCV_HEX];
    int64_t at; /* unix seconds */
};

/* Run the whole ceremony. 0; PERM/AUTH/LOCKED/NOTFOUND from dual control;
 * NOTFOUND for an unknown device; CRYPTO when the device's KCV differs. */
__attribute__((warn_unused_result)) int inject_run(struct operators *ops, struct audit *audit,
                                                   const struct inject_params *p, const char *id1,
                                                   const char *pw1, const char *id2, const char *pw2,
                                                   inject_component_fn comp, inject_show_fn show, void *ctx,
                                                   struct inject_result *ret);

struct inject_status {
    char serial[INJECT_SERIAL_MAX + 1];
    char kind[INJECT_KIND_MAX];
    int64_t last_at; /* 0: never injected */
    char ik_kcv[CEREMONY_KCV_HEX];
    bool overdue;
};

#define INJECT_STATUS_MAX 256 /* devices listed */

/* Last injection per device from keys.db, plus the card devices in extra
 * (serial, kind pairs; never injected when absent from the db); overdue when
 * never injected or older than reinject_days at now. *ret is malloc'd. */
int inject_status_list(const char *db_path, int64_t now, int64_t reinject_days, const char *const *extra,
                       size_t n_extra, struct inject_status **ret, size_t *ret_n);

/* Is this device kind a card device that takes a DUKPT key? */
bool inject_kind_card(const char *kind);

#endif
