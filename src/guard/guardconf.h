/*
 * guardconf: mamori-guard's configuration (INI, parsed with inih).
 *
 *     [guard]
 *     mode = enforce | detect
 *     manifest = /etc/mamori/allowlist.manifest
 *     pubkey = <64 hex> | /path/to/release.pub
 *     audit = /var/lib/mamori/guard-audit.db
 *     watch = /opt/mamori          ; repeatable: mount points (FAN_MARK_MOUNT)
 *     integrity = /opt/mamori/bin  ; repeatable: directories/files watched for change
 *     alert_log = /var/log/mamori/guard-alerts.log   ; default: stderr
 *     max_hash_bytes = 536870912   ; larger files are refused in enforce mode
 *     watchdog_sec = 30            ; a decision stuck this long ends the daemon
 *     spin_us = 0                  ; busy-wait this long for the next event (latency vs CPU)
 *     allow_system_mounts = no     ; yes is needed to watch "/"
 *
 * Unknown keys are an error (a typo must not silently weaken the policy).
 */
#ifndef MAMORI_GUARDCONF_H
#define MAMORI_GUARDCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard/manifest.h"

#define GUARDCONF_MAX_BYTES 65536  /* config file size */
#define GUARDCONF_MAX_PATHS 32     /* watch= and integrity= entries each */

enum guard_mode { GUARD_ENFORCE = 0, GUARD_DETECT = 1 };

struct guardconf {
    enum guard_mode mode;
    char *manifest;
    bool have_pub;
    uint8_t pub[MANIFEST_PK_LEN];
    char *audit;
    char *alert_log;
    char *watch[GUARDCONF_MAX_PATHS];
    size_t nwatch;
    char *integrity[GUARDCONF_MAX_PATHS];
    size_t nintegrity;
    uint64_t max_hash_bytes;
    unsigned watchdog_sec;
    unsigned spin_us; /* busy-wait for the next event after a batch (0..1000) */
    bool allow_system_mounts;
    int err_line; /* line of the first error, for the message */
};

const char *guard_mode_name(enum guard_mode m);
/* "enforce"/"detect" -> mode; MAMORI_ERR_INVAL otherwise. */
int guard_mode_parse(const char *s, enum guard_mode *ret);

/* Parse INI text into c (which it initialises). Requires manifest, pubkey,
 * audit and at least one watch. MAMORI_ERR_CONFIG with c->err_line set. */
int guardconf_parse(const char *text, struct guardconf *c);
/* Read (at most GUARDCONF_MAX_BYTES) and parse a file. */
int guardconf_load(const char *path, struct guardconf *c);
/* Free the strings; NULL-safe, idempotent. */
void guardconf_free(struct guardconf *c);

#endif
