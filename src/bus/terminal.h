/*
 * terminal: what mamori-terminald hosts: configuration (embedded defaults +
 * optional INI file), the state directory (terminal.key, registry.db,
 * audit.db, operators.db, manufacturer-ca.pub), the bus, and the local
 * control socket (ctl.sock) that the CLI and tests use to list devices and
 * watch events. The daemon's main only parses arguments and runs the loop.
 *
 * Control commands (one line each; answers are JSON lines or text):
 *   devices                      [{"serial","model","kind","attached"}...] one per line
 *   events [N]                   the last N bus events/attach records, JSON lines
 *   audit-count EVENT            number of audit events with that name
 *   request SERIAL TYPE [JSON] [TIMEOUT_MS]   send a request, print the reply JSON
 *   disconnect SERIAL            drop the session of a device
 *   devlog-sync [SERIAL]         fetch the device logs now (logsync.h); JSON result
 *   pubkey                       the terminal's bus public key (hex)
 *   status                       {"attached":N,"uptime_ms":...}
 *   stop                         stop the daemon
 */
#ifndef MAMORI_TERMINAL_H
#define MAMORI_TERMINAL_H

#include <stddef.h>

#include "bus/bus.h"
#include "common/config.h"
#include "common/evloop.h"

#define TERMINAL_PATH_MAX 512
#define TERMINAL_EVENTS_MAX 1024 /* event records kept for "events" */

/* The embedded default configuration (INI text). */
extern const char terminal_default_config[];

struct terminal;
struct devapi;
struct logsync;
struct devlog_store;

/* Load config (defaults, then config_path if not NULL), open the state
 * directory (created 0700 if missing) and start the bus. On a config error
 * err names file:line. */
int terminal_open(const char *state_dir, const char *config_path, struct evloop *l,
                  struct terminal **ret, char *err, size_t errlen);
void terminal_close(struct terminal *t);
struct bus *terminal_bus(struct terminal *t);
/* The UPOS device API over the bus (devapi.h). It holds the bus's event and
 * attach callbacks; add listeners with devapi_observe() rather than
 * bus_on_event(), which would take them away from it. */
struct devapi *terminal_devapi(struct terminal *t);
/* Restrict the process after setup (Landlock, src/common/sandbox.h) unless
 * [sandbox] enabled = false; [sandbox] rw / ro add one path each. */
int terminal_restrict(struct terminal *t, char *err, size_t errlen);
/* What the register hosted in the daemon also uses (src/pos/service.h). */
struct config *terminal_config(struct terminal *t);
struct audit *terminal_audit(struct terminal *t);
const char *terminal_dir(const struct terminal *t);
/* The devices' signed logs: the fetcher and the store (STATE/devlog.db). */
struct logsync *terminal_logsync(struct terminal *t);
struct devlog_store *terminal_devlog(struct terminal *t);

#endif
