/*
 * posbus: the register's device port (posdev.h) over the secure device bus
 * (bus.h): every printer, display, drawer, change-machine and scale call is a
 * bus request to an enrolled device, with the message bodies of
 * docs/protocol-devices.md. Cash commands carry the engine's idempotency key
 * as `idem` (and, derived from it, `txn` and `tender`), so a retry after a
 * lost reply gets the device's remembered answer and never pays twice.
 *
 * Devices are found by kind among the enrolled ones (first match) unless a
 * serial is configured. Answers from the shopper (custdisplay.answer) arrive
 * as bus events: whoever owns the bus's event callback forwards them with
 * posbus_event(). Deposits are followed by polling changer.status.
 */
#ifndef MAMORI_POS_POSBUS_H
#define MAMORI_POS_POSBUS_H

#include <cbor.h>

#include "bus/bus.h"
#include "common/evloop.h"
#include "pos/posdev.h"

#define POSBUS_PRINT_JOB_MAX 49152 /* bytes per printer.print (protocol limit) */
#define POSBUS_SCANS_MAX 64        /* scans and key presses waiting for the register */
#define POSBUS_SCAN_LEN 40         /* longest scanned code / key name kept, bytes incl. NUL */

struct posbus_config {
    /* Serials; NULL: the first enrolled device of that kind. */
    const char *printer, *linedisplay, *custdisplay, *drawer, *changer, *scale;
    int timeout_ms;          /* per request (default 3000) */
    int deposit_timeout_ms;  /* shopper inserting cash (default 120000) */
    int confirm_timeout_ms;  /* shopper answering (default 60000) */
};

struct posbus;

int posbus_new(struct bus *b, struct evloop *loop, const struct posbus_config *cfg,
               struct posbus **ret);
void posbus_free(struct posbus *p);
/* Fill d; has_changer is true when a change machine is enrolled. */
void posbus_port(struct posbus *p, struct pos_devices *d);
/* Feed a bus event: custdisplay.answer (the shopper's answer), scanner.data
 * and keyboard.key (queued in arrival order; events can arrive while the
 * engine is inside a bus call, so they are never handled there). */
void posbus_event(struct posbus *p, const char *serial, const char *type,
                  const cbor_item_t *body);
/* Take the oldest queued input: 0, *ret_kind 's' (scanned code) or 'k' (key
 * name) and the text; MAMORI_ERR_NOTFOUND when none. Call only when the
 * engine is idle (top of the loop). */
int posbus_next_input(struct posbus *p, char *ret_kind, char ret[static POSBUS_SCAN_LEN]);
/* Scans dropped because the queue was full or the code too long. */
unsigned posbus_scans_dropped(const struct posbus *p);

#endif
