/*
 * devctl: small helpers for the control interface of simulated devices
 * (the commands that stand for the physical world: "scan ...", "weight ...").
 * Control arguments come from a local socket, so they are parsed as strictly
 * as bus bodies: whole-string integers within a range, bounded text.
 */
#ifndef MAMORI_DEVCTL_H
#define MAMORI_DEVCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

/* Replace answer's contents with one formatted line (no newline needed). */
__attribute__((format(printf, 2, 3))) int devctl_answer(struct buf *answer, const char *fmt, ...);
/* Parse a whole decimal integer with min <= v <= max (MAMORI_ERR_INVAL otherwise). */
int devctl_int(const char *s, int64_t min, int64_t max, int64_t *ret);
/* true when s is 1..max printable ASCII bytes (0x20..0x7e). */
bool devctl_printable(const char *s, size_t max);

#endif
