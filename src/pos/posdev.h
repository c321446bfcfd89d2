/*
 * posdev: the register's port to its devices (OPS-2, OPS-6, DEV-18).
 *
 * The transaction engine never talks to the bus directly: it calls through a
 * struct pos_devices, a table of function pointers. Tests and the console use
 * the in-process simulator below (posdev_sim_*); mamori-terminald fills the
 * table with functions that send bus requests (src/bus/bus.h) to the enrolled
 * printer, displays, drawer, change machine and scale.
 *
 * Cash commands (drawer open, deposit, dispense) carry an idempotency key
 * (POSDEV_IDEM_MAX bytes, NUL-terminated text). A device that has already
 * executed a command with that key answers with the remembered result and does
 * nothing else, so a retry after a lost reply never pays twice (ARCHITECTURE §5).
 * Every function returns 0 or a negative MAMORI_ERR_*; MAMORI_ERR_OFFLINE and
 * MAMORI_ERR_TIMEOUT mean "unknown outcome": the caller retries with the same key.
 */
#ifndef MAMORI_POS_POSDEV_H
#define MAMORI_POS_POSDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POSDEV_IDEM_MAX 48       /* idempotency key text incl. NUL */
#define POSDEV_LINE_MAX 64       /* one display line, UTF-8 incl. NUL */
#define POSDEV_PRINT_MAX (256u * 1024u) /* largest receipt byte stream */
#define POSDEV_DENOMS 10         /* JPY denominations a change machine counts */
#define POSDEV_COUNT_MAX 1000000 /* pieces of one denomination a machine may report */

struct pos_devices {
    void *ctx;
    /* Print an ESC/POS byte stream on the receipt printer. */
    int (*print)(void *ctx, const uint8_t *bytes, size_t n);
    /* Show two lines on the line display and the customer display. */
    int (*display)(void *ctx, const char *line1, const char *line2);
    /* Ask the shopper on the customer display; *ret_yes is the answer. */
    int (*confirm)(void *ctx, const char *prompt, bool *ret_yes);
    /* Open the cash drawer. */
    int (*drawer_open)(void *ctx, const char *idem);
    /* Change machine: count what the shopper inserted (the device accepts
     * cash until it holds at least want, or the shopper stops) and report it. */
    int (*changer_deposit)(void *ctx, const char *idem, int64_t want, int64_t *ret_counted);
    /* Change machine: pay out amount yen. */
    int (*changer_dispense)(void *ctx, const char *idem, int64_t amount);
    /* Scale: grams and whether the reading is stable. */
    int (*scale_read)(void *ctx, int32_t *ret_grams, bool *ret_stable);
    /* True when a change machine is attached (else the drawer is used). */
    bool has_changer;
    /* Print exactly once per key (a report): a retry with the same key after
     * a lost reply prints nothing more. NULL: not supported. */
    int (*print_once)(void *ctx, const char *idem, const uint8_t *bytes, size_t n);
    /* Asked at use time when set (devices enrolled or attached while the
     * register runs); otherwise has_changer decides. */
    bool (*changer_present)(void *ctx);
    /* Change machine: its own cassette counts, pieces per denomination in
     * POSDEV_DENOMS order (10000 5000 2000 1000 500 100 50 10 5 1), read
     * now (the expected pieces of a cash declaration). NULL: not supported. */
    int (*changer_counts)(void *ctx, int64_t ret_counts[POSDEV_DENOMS]);
};

/* Whether cash goes through a change machine now. */
static inline bool posdev_has_changer(const struct pos_devices *d)
{
    return d->changer_present != NULL ? d->changer_present(d->ctx) : d->has_changer;
}

/* ---- in-process simulator (tests, console, demo) ---- */

struct posdev_sim;

/* A simulator whose cash devices remember executed commands in the file at
 * state_path (one line per command: "kind key amount"), so a restarted
 * process sees the device's memory, as a real device keeps it across a
 * controller crash. state_path may be NULL (memory only). */
int posdev_sim_new(const char *state_path, bool has_changer, struct posdev_sim **ret);
void posdev_sim_free(struct posdev_sim *s);
/* Fill d with the simulator's functions. */
void posdev_sim_port(struct posdev_sim *s, struct pos_devices *d);

/* Script the devices: next scale reading; shopper's confirm answer; what the
 * shopper inserts into the change machine (0: exactly want). */
void posdev_sim_set_scale(struct posdev_sim *s, int32_t grams, bool stable);
void posdev_sim_set_confirm(struct posdev_sim *s, bool yes);
void posdev_sim_set_deposit(struct posdev_sim *s, int64_t inserted);
/* Drop the next n replies of cash commands after executing them (a lost reply:
 * the call returns MAMORI_ERR_TIMEOUT although the device did the work). */
void posdev_sim_lose_replies(struct posdev_sim *s, int n);
/* When a reply is lost, the cash devices also go offline (MAMORI_ERR_OFFLINE
 * without executing) until posdev_sim_set_offline(s, false). */
void posdev_sim_offline_after_loss(struct posdev_sim *s, bool on);
void posdev_sim_set_offline(struct posdev_sim *s, bool offline);
/* Take the printer away (prints answer MAMORI_ERR_OFFLINE) or bring it back. */
void posdev_sim_set_printer(struct posdev_sim *s, bool present);

/* What the devices did, for tests. */
struct posdev_sim_stats {
    int drawer_opens;      /* executed (not replayed) */
    int dispenses;
    int64_t dispensed;     /* yen */
    int deposits;
    int64_t deposited;
    int replays;           /* commands answered from memory */
    int prints;
    int displays;
};
void posdev_sim_stats(const struct posdev_sim *s, struct posdev_sim_stats *ret);
/* Last printed byte stream (borrowed; valid until the next print). */
const uint8_t *posdev_sim_last_print(const struct posdev_sim *s, size_t *ret_n);
/* Last display lines (borrowed). */
const char *posdev_sim_last_display(const struct posdev_sim *s, int line);

#endif
