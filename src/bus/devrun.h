/*
 * devrun: the runner of one simulated device (mamori-devsim). Owns the
 * device's identity in its state directory, the connection to the terminal,
 * the device side of the secure session including pairing (it pins the
 * terminal key at enrolment and refuses any other controller until a
 * physical reset), dispatch of requests to the firmware (device_class), and
 * the control socket that stands for the physical world.
 *
 * State directory:
 *   device.key        X25519 + Ed25519 keys (keys_load_or_create, 0600)
 *   identity.json     {"kind","model","serial","bus_pub","log_pub","fw"} for the vendor
 *   device.cert       manufacturer certificate (mamori vendor issue --out)
 *   paired.pub        the pinned terminal key (hex), absent when unpaired
 *   device-audit.db   the device's own records (pairing, resets, refusals)
 *   devlog.bin        the signed hash-chained device log (POL-8(1), firmware's
 *                     device_record; src/audit/devlogfile.h), read by the
 *                     terminal with "KIND.log_fetch" (answered here for every class)
 *   fw/               the firmware's own state (device_class create)
 *
 * Control verbs handled here: status, unplug, replug, lose-replies N (tests:
 * the next N requests are executed but not answered), reset, log [N],
 * count EVENT, flood COUNT [BYTES] (a malfunctioning device, for tests);
 * everything else goes to the firmware's control().
 */
#ifndef MAMORI_DEVRUN_H
#define MAMORI_DEVRUN_H

#include <stddef.h>
#include <stdint.h>

#include "common/evloop.h"

#define DEVRUN_PATH_MAX    512
#define DEVRUN_RECORDS_MAX 256

struct devrun_opts {
    const char *kind;
    const char *state_dir;
    const char *connect;  /* transport spec */
    const char *ctl_path; /* NULL: STATE/ctl.sock */
    int64_t hb_ms;        /* 0: default 2000 */
};

/* Create keys (if missing) and write identity.json; print it to stdout when
 * print is true. serial NULL: derived from kind and the key. */
int devrun_init(const char *kind, const char *state_dir, const char *serial, int print);

struct devrun;
int devrun_open(const struct devrun_opts *o, struct evloop *l, struct devrun **ret, char *err,
                size_t errlen);
void devrun_close(struct devrun *d);

#endif
