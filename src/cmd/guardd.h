/*
 * guardd: the mamori-guard daemon's event loop, recorder and watchdog
 * (POL-5, LC-5, LC-6, PRE-5). Program code (it logs and may end the
 * process), linked only into mamori-guard; main only parses arguments.
 *
 * Threads:
 *  - decision (the caller of guardd_run): poll on the fanotify groups and a
 *    signalfd; answers permission events (enforcer), reloads on SIGHUP,
 *    asks for a full integrity check on SIGUSR1, stops on SIGTERM/SIGINT or
 *    when max_runtime passes.
 *  - recorder: drains the bounded gqueue into the audit trail and alert
 *    lines; runs integrity checks (so a slow disk never delays an exec).
 *  - watchdog: a decision stuck longer than watchdog_sec, or a run past
 *    max_runtime + 5 s, ends the process; the kernel then releases (allows)
 *    every waiting process (docs/guard.md, recovery).
 */
#ifndef MAMORI_GUARDD_H
#define MAMORI_GUARDD_H

#include <stdbool.h>

#include "guard/guardconf.h"

struct guardd_opts {
    const char *config;        /* INI path (required) */
    bool mode_override;        /* use mode instead of the config's */
    enum guard_mode mode;
    unsigned max_runtime;      /* seconds; 0 = run until signalled */
    bool stats;                /* print decision statistics on exit */
};

/* Run until stopped. Returns a process exit status: 0 after a clean stop,
 * 1 when the configuration, manifest, audit store or fanotify setup failed
 * (nothing is enforced then), 70 on an internal failure. */
int guardd_run(const struct guardd_opts *o);

#endif
