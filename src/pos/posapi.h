/*
 * posapi: the register's local HTTP+JSON API (libmicrohttpd) on a unix socket
 * (mode 0600 in the register's directory), driven from the station's event
 * loop so the engine is only ever called from one thread.
 *
 *   GET  /v1/state              the open transaction (no HIGH fields), totals,
 *                               operator, training flag, last receipt
 *   POST /v1/command            {"line": "scan 4901234567894 2"}: one console
 *                               command (console.h); answer {"ok", "code",
 *                               "error", "output", "state"}
 *   GET  /v1/receipts/N         a stored receipt record from the journal
 *   GET  /v1/events?after=SEQ   what happened since SEQ (command word, result,
 *                               completed receipt, total, due): the event
 *                               stream a UI polls (the last POSAPI_EVENTS_MAX kept)
 *
 * Requests are served one at a time: a request that arrives while a command
 * is still running (the engine waits on a device inside it) gets 503 and
 * changes nothing.
 *
 * Bodies are outside bytes: at most POSAPI_BODY_MAX bytes, parsed with
 * jansson, one string field; anything else is 400/404/405/413 and changes
 * nothing. Credentials inside command lines (manager approvals) are used for
 * that call only and never echoed back.
 */
#ifndef MAMORI_POS_POSAPI_H
#define MAMORI_POS_POSAPI_H

#include "common/evloop.h"
#include "pos/console.h"
#include "pos/txn.h"

#define POSAPI_BODY_MAX 4096
#define POSAPI_OUTPUT_MAX (64u * 1024u)
#define POSAPI_EVENTS_MAX 256

struct posapi;

/* Listen on the unix socket path (an existing socket file is replaced; any
 * other file is refused) and serve from loop. t and sim (may be NULL) as for
 * console_new; both must outlive the API. */
int posapi_start(struct txn *t, struct posdev_sim *sim, struct evloop *loop, const char *path,
                 struct posapi **ret);
void posapi_stop(struct posapi *a);
/* Input that arrives as device events (scanner): when the register is idle,
 * the API asks next_line for a console line to run (0 and the line, or
 * non-zero when there is none) and records it like a posted command. */
typedef int (*posapi_source_fn)(void *ctx, char *line, size_t cap);
void posapi_set_source(struct posapi *a, posapi_source_fn next_line, void *ctx);

/* The console behind the API (to install a host hook). */
struct console *posapi_console(struct posapi *a);

#endif
