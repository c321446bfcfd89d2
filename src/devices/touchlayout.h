/*
 * touchlayout: the button layout of the touch panel (DEV-10): which button
 * is where on the 800 x 480 screen, its id and its label.
 *
 * The screen is a grid of TOUCHLAYOUT_COLS x TOUCHLAYOUT_ROWS cells of
 * 100 x 80 pixels; a button fills one cell less a TOUCHLAYOUT_GAP margin on
 * each side (touches in the margin hit nothing). A layout is text, one
 * button per line, so a store can set its own PLU buttons:
 *
 *     # COL ROW ID LABEL
 *     4 0 PLU:101 幕の内弁当
 *     7 4 SUBTOTAL 小計
 *
 * COL 0..7, ROW 0..5, ID 1..TOUCHLAYOUT_ID_MAX bytes of A-Z 0-9 ':' (a key
 * name or KEY:DIGITS; the register decides what it means), LABEL the rest
 * of the line, UTF-8 without control characters, 1..TOUCHLAYOUT_LABEL_MAX
 * bytes. '#' lines and blank lines are skipped; LF or CRLF. Two buttons in
 * one cell, or two with one id, are refused. The file is outside bytes:
 * parsed through struct buf with a size limit, the first bad line reported.
 */
#ifndef MAMORI_TOUCHLAYOUT_H
#define MAMORI_TOUCHLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define TOUCHLAYOUT_WIDTH 800
#define TOUCHLAYOUT_HEIGHT 480
#define TOUCHLAYOUT_COLS 8
#define TOUCHLAYOUT_ROWS 6
#define TOUCHLAYOUT_CELL_W (TOUCHLAYOUT_WIDTH / TOUCHLAYOUT_COLS)
#define TOUCHLAYOUT_CELL_H (TOUCHLAYOUT_HEIGHT / TOUCHLAYOUT_ROWS)
#define TOUCHLAYOUT_GAP 5
#define TOUCHLAYOUT_BUTTONS_MAX (TOUCHLAYOUT_COLS * TOUCHLAYOUT_ROWS)
#define TOUCHLAYOUT_ID_MAX 32     /* bytes of a button id */
#define TOUCHLAYOUT_LABEL_MAX 64  /* bytes of a label */
#define TOUCHLAYOUT_LINE_MAX 256  /* bytes of one line */
#define TOUCHLAYOUT_FILE_MAX 8192 /* bytes of a layout file */
#define TOUCHLAYOUT_FILE "layout.txt" /* in the device's state directory */

struct touchlayout_button {
    char id[TOUCHLAYOUT_ID_MAX + 1];
    char label[TOUCHLAYOUT_LABEL_MAX + 1];
    int col, row;
};

struct touchlayout {
    size_t n;
    struct touchlayout_button b[TOUCHLAYOUT_BUTTONS_MAX];
};

/* The layout the panel ships with (text in the format above). */
extern const char touchlayout_default[];

/* Parse n bytes of layout text into *ret (written only on success). 0, or
 * MAMORI_ERR_INVAL (a bad line: *ret_line its number, 1-based; 0 when the
 * layout as a whole is wrong, e.g. no button) or MAMORI_ERR_TOOBIG (past
 * TOUCHLAYOUT_FILE_MAX). ret_line may be NULL. */
int touchlayout_parse(const uint8_t *p, size_t n, struct touchlayout *ret, size_t *ret_line);
/* Read and parse the file at path (not following a symlink):
 * MAMORI_ERR_NOTFOUND when absent, else as touchlayout_parse. */
int touchlayout_load(const char *path, struct touchlayout *ret, size_t *ret_line);

/* The button at (x, y), or NULL (a margin, an empty cell, off the screen). */
const struct touchlayout_button *touchlayout_hit(const struct touchlayout *l, int64_t x, int64_t y);
/* The button with this id, or NULL. */
const struct touchlayout_button *touchlayout_find(const struct touchlayout *l, const char *id);
/* The button's rectangle in pixels. */
void touchlayout_rect(const struct touchlayout_button *b, int *ret_x, int *ret_y, int *ret_w,
                      int *ret_h);

#endif
