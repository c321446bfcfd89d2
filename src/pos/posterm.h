/*
 * posterm: one register station hosted in a process: opens the journal, the
 * audit log, the item master, the operators, the data key, the device port
 * (simulated in-process, or over the bus through posbus), the engine (with
 * recovery), the console and optionally the HTTP API. mamori-terminald and
 * `mamori register` both host the register through this; the host keeps the
 * event loop and forwards bus events with posterm_event().
 */
#ifndef MAMORI_POS_POSTERM_H
#define MAMORI_POS_POSTERM_H

#include <stdbool.h>
#include <stdint.h>

#include <cbor.h>

#include "bus/bus.h"
#include "common/evloop.h"
#include "pos/console.h"
#include "pos/txn.h"

struct posterm_config {
    const char *dir;           /* journal.db, audit.db, datakey, devices.state (created 0700) */
    const char *items_db;      /* item master */
    const char *operators_db;  /* NULL: DIR/operators.db */
    const char *terminal;      /* terminal id text, e.g. "T01" */
    const char *issuer;        /* receipt issuer name */
    const char *regno;         /* "T" + 13 digits */
    uint32_t store_no, terminal_no;
    bool sim_changer;          /* simulated devices: with a change machine */
    bool gift_change;          /* 商品券 over-tender paid back */
    struct bus *bus;           /* NULL: simulated devices */
    struct evloop *loop;       /* required with bus or API */
    FILE *out;                 /* console output (NULL: stdout) */
};

struct posterm;

/* Open everything and recover an interrupted transaction and pending cash
 * commands. On failure *ret_what (may be NULL) names the step. */
int posterm_open(const struct posterm_config *cfg, struct posterm **ret, const char **ret_what);
void posterm_close(struct posterm *p);

/* A transaction was open at start (resumed; the operator signs on again). */
bool posterm_resumed(const struct posterm *p);
struct txn *posterm_txn(struct posterm *p);
/* The script/keyboard console; with a bus it also knows `wait-devices N [S]`
 * and `wait-input N [S]` (N operations from the scanner and keyboard devices). */
struct console *posterm_console(struct posterm *p);

/* A bus_event_fn: the host passes every bus event here (shopper answers,
 * scanner and keyboard input). */
void posterm_event(void *p, const char *serial, const char *type, const cbor_item_t *body);

/* Serve the HTTP+JSON API on a unix socket from the loop (scanner input is
 * registered while the engine is idle). */
int posterm_api_start(struct posterm *p, const char *socket_path);
void posterm_api_stop(struct posterm *p);

#endif
