/*
 * devwatch: a small application on the UPOS device API (devapi.h) inside
 * mamori-terminald, standing in for the register until it is hosted there:
 * on "watch start" it opens every enrolled device, claims it (the drawer is
 * sharable), enables it and arms DataEventEnabled; every scanned code is
 * recorded and shown on the line display; power, status and data events are
 * counted per device. Tests and the demo read it through the control
 * socket; it proves that input reaches an application through the device
 * API and that a detached device is reported offline there.
 *
 * Control (terminald ctl.sock):
 *   watch start    open/claim/enable every enrolled device; answer "watching N"
 *   watch stop     close them all
 *   watch          JSON lines: {"scans":[...],"display":[...],...} then one
 *                  {"serial","kind","power","claimed","enabled",...} per device
 */
#ifndef MAMORI_DEVWATCH_H
#define MAMORI_DEVWATCH_H

#include "bus/devapi.h"
#include "common/buf.h"

#define DEVWATCH_DEVICES_MAX 64
#define DEVWATCH_SCANS_MAX 32 /* most recent scans kept */

struct bus;
struct devwatch;

/* A watcher on api (borrowed; b is the same bus, for the device list). */
int devwatch_new(struct bus *b, struct devapi *api, struct devwatch **ret);
void devwatch_free(struct devwatch *w);
/* The "watch ..." control command (argv[0] == "watch"). */
int devwatch_ctl(struct devwatch *w, int argc, char **argv, struct buf *out);

#endif
