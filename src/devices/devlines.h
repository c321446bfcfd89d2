/*
 * devlines: the text lines of a display device (line display, customer
 * display). Lines arrive as CBOR text strings; each must be valid UTF-8
 * without control characters, and is cut (on a character boundary) to the
 * display's width in columns: ASCII and half-width katakana take one column,
 * every other character two (full-width Japanese), as on a real VFD/LCD.
 * The text shown is volatile: kept in memory, written (unsynced) only at an
 * orderly stop for the next start.
 */
#ifndef MAMORI_DEVLINES_H
#define MAMORI_DEVLINES_H

#include <stdbool.h>
#include <stddef.h>

#include <cbor.h>

#include "common/buf.h"

#define DEVLINES_ROWS_MAX 8
#define DEVLINES_COLS_MAX 40
#define DEVLINES_BYTES_MAX 1024 /* bytes of one incoming line before cutting */
#define DEVLINES_LINE_CAP (DEVLINES_COLS_MAX * 3 + 1)

struct devlines {
    size_t rows, cols; /* the display's geometry */
    size_t n;          /* lines shown */
    char line[DEVLINES_ROWS_MAX][DEVLINES_LINE_CAP];
};

void devlines_init(struct devlines *l, size_t rows, size_t cols);
/* true when s (n bytes) is UTF-8 with no control characters. */
bool devlines_utf8_ok(const unsigned char *s, size_t n);
/* Replace the lines with arr (an array of at most rows text strings).
 * *ret_cut is set when a line was cut to width. 0 or MAMORI_ERR_INVAL/TOOBIG. */
int devlines_set(struct devlines *l, const cbor_item_t *arr, bool *ret_cut);
void devlines_clear(struct devlines *l);
/* The lines as a CBOR array (NULL on ENOMEM). */
cbor_item_t *devlines_to_cbor(const struct devlines *l);
/* Keep the lines shown in dir/name for the next start, at an orderly stop
 * (devstate_save_volatile: not synced). Text is volatile, as on a real
 * display: it is not written per update (that would put file work on every
 * scan's path) and a crash or power cut loses it. */
int devlines_keep(const struct devlines *l, const char *dir, const char *name);
/* Show the lines kept in dir/name and remove the file (so a later crash
 * starts blank rather than with stale text); a missing or unreadable file
 * leaves the display blank. Never fails. */
void devlines_restore(struct devlines *l, const char *dir, const char *name);
/* "line 1 | line 2" into answer. */
int devlines_show(const struct devlines *l, const char *who, struct buf *answer);

#endif
