/*
 * linedisp: text for the 20-column x 2-line line display / customer display
 * (full-width characters take 2 columns; each row is padded to exactly
 * LINEDISP_COLS columns so a device can overwrite in place).
 */
#ifndef MAMORI_POS_LINEDISP_H
#define MAMORI_POS_LINEDISP_H

#include <stdint.h>

#define LINEDISP_COLS 20
#define LINEDISP_ROWS 2
#define LINEDISP_ROW_BYTES (LINEDISP_COLS * 3 + 1) /* UTF-8 worst case + NUL */

struct linedisp {
    char row[LINEDISP_ROWS][LINEDISP_ROW_BYTES];
};

/* Row 1: item name (cut to fit); row 2: "x3" left, amount right ("￥1,080"). */
int linedisp_item(const char *name, int32_t qty, int64_t amount, struct linedisp *ret);
/* Row 1: "小計" + count; row 2: total right-aligned. */
int linedisp_subtotal(uint32_t items, int64_t total, struct linedisp *ret);
/* Row 1: "お預り" + tendered; row 2: "お釣" + change. */
int linedisp_change(int64_t tendered, int64_t change, struct linedisp *ret);
/* Two free rows (messages such as "年齢確認をお願いします"), cut/padded. */
int linedisp_text(const char *row1, const char *row2, struct linedisp *ret);

#endif
