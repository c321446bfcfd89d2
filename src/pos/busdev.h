/*
 * busdev: the register's device port (posdev.h struct pos_devices) over the
 * UnifiedPOS device API of the bus (bus/devapi.h), as mamori-terminald uses
 * it (OPS-1 scanner/scale/keyboard input, OPS-2 cash commands with
 * idempotency keys, OPS-6 receipt printer and displays, DEV-4/DEV-5 devices
 * only through the authenticated bus).
 *
 * Devices are opened by kind (the first enrolled device of each kind),
 * claimed and enabled; a periodic tick re-opens, re-claims and re-enables
 * them after a detach, so the port follows the hardware as it comes and
 * goes. Every call is synchronous (it runs the bus's event loop until the
 * reply or replies), so it must be called on the bus's loop thread.
 *
 *   printer      printer.print {data: ESC/POS bytes} (split at BUSDEV_PRINT_CHUNK)
 *   display      linedisplay.text and custdisplay.text {lines: [l1, l2]},
 *                sent together; returns when both answered
 *   confirm      custdisplay.confirm {prompt} then waits for custdisplay.answer
 *   drawer_open  drawer.open {txn, tender, idem}
 *   deposit      changer.deposit_end {idem} first (a retry replays the first
 *                reply); otherwise deposit_begin, wait for changer.deposit
 *                events until the amount is reached or the shopper stops,
 *                then deposit_end {idem}
 *   dispense     changer.dispense {amount, idem}
 *   scale_read   scale.read: only a stable reading is returned as stable
 * Scanner data, keyboard keys and touch-panel buttons ("touchpanel", button
 * id) are delivered to the input callback; the keylock's position is kept
 * from its status events (busdev_keylock).
 *
 * Devices come and go while the register runs (DEV-8, DEV-18b): a kind's
 * device is looked up when used and on the tick; a change machine counts
 * when it is enrolled at start, or else from its first attach
 * (port.changer_present). A detached device is
 * replaced by another enrolled, attached device of its kind, except while a
 * cash command sent to it has no definite answer: then the kind is pinned
 * to that device (also across a restart, config pin_path), so the retry
 * under the same key reaches the device that may have executed it and
 * nothing is paid twice.
 */
#ifndef MAMORI_POS_BUSDEV_H
#define MAMORI_POS_BUSDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/printer.h"
#include "pos/posdev.h"

struct bus;
struct devapi;
struct evloop;
struct busdev;
struct cbor_item_t;

#define BUSDEV_PRINT_CHUNK PRINTER_JOB_MAX /* bytes per printer.print: the printer's limit */
#define BUSDEV_INPUT_MAX 256         /* scanner label / key name bytes incl. NUL */
#define BUSDEV_TICK_MS 250           /* re-open / re-enable period */
#define BUSDEV_SERIAL_MAX 64         /* device serial bytes incl. NUL */
#define BUSDEV_PATH_MAX 512

struct busdev_config {
    int request_ms;          /* per device request; 0: 3000 */
    int confirm_ms;          /* shopper's answer on the customer display; 0: 30000 */
    int deposit_idle_ms;     /* deposit ends after this long without an insert; 0: 10000 */
    int deposit_max_ms;      /* and at the latest after this; 0: 120000 */
    /* Where the devices holding a cash command without a definite answer are
     * remembered across a restart (one "kind serial" line each; written
     * atomically and fsynced); NULL: in memory only. */
    const char *pin_path;
};

/* Input from the scanner ("scanner", label) or the keyboard ("keyboard", key
 * name). Runs on the loop thread; data borrowed for the call. */
typedef void (*busdev_input_fn)(void *ctx, const char *kind, const char *data);
/* A device event worth showing (attach/detach, drawer status, ...). */
typedef void (*busdev_note_fn)(void *ctx, const char *kind, const char *what);

int busdev_new(struct evloop *l, struct devapi *api, const struct busdev_config *cfg,
               struct busdev **ret);
void busdev_free(struct busdev *d);
/* The port (borrowed from d; has_changer: a change machine is enrolled,
 * decided when d is created). */
const struct pos_devices *busdev_port(struct busdev *d);
void busdev_on_input(struct busdev *d, busdev_input_fn fn, busdev_note_fn note, void *ctx);
/* Open/claim/enable whatever is not yet (also done by the tick). */
void busdev_ensure(struct busdev *d);
/* Whether a device of kind is open, enabled and attached. */
bool busdev_ready(const struct busdev *d, const char *kind);
/* The mode key position (DEV-11, UPOS Keylock KeyPosition 1..PositionCount)
 * as the enrolled keylock last reported it over the bus; 1 (LOCK) while it
 * is detached or has not answered yet; 0 when no keylock is enrolled. */
int busdev_keylock(const struct busdev *d);
/* A change machine's changer.counts / changer.status reply: its "counts"
 * map {denomination: pieces} into ret_counts (POSDEV_DENOMS order, absent
 * denominations 0). Every key a known denomination, every count
 * 0..POSDEV_COUNT_MAX, else MAMORI_ERR_PROTO and ret_counts untouched. */
int busdev_counts_read(const struct cbor_item_t *reply, int64_t ret_counts[POSDEV_DENOMS]);

#endif
