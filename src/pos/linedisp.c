/*
 * linedisp: owns the text of the 20x2 line display / customer display
 * (what each row says and how it is cut and padded). Not the device I/O.
 */
#include "pos/linedisp.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/jtext.h"

/* Row = left text fitted + right text flush right, exactly LINEDISP_COLS columns. */
static int row(char out[LINEDISP_ROW_BYTES], const char *left, const char *right)
{
    struct buf b;
    size_t wr = 0;
    int r;
    if (left == NULL || right == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = jtext_width(right, &wr)))
        return r;
    if (wr > LINEDISP_COLS)
        return MAMORI_ERR_TOOBIG;
    buf_init(&b, LINEDISP_ROW_BYTES);
    if ((r = jtext_put_fit(&b, left, LINEDISP_COLS - wr, true)) ||
        (r = buf_put_bytes(&b, right, strlen(right))) || (r = buf_put_u8(&b, '\0')))
        goto out;
    memcpy(out, buf_ptr(&b), buf_remaining(&b));
out:
    buf_free(&b);
    return r;
}

int linedisp_item(const char *name, int32_t qty, int64_t amount, struct linedisp *ret)
{
    struct linedisp d;
    char q[16], y[40];
    int r;
    if (ret == NULL || qty < 1)
        return MAMORI_ERR_INVAL;
    if ((r = jtext_yen(amount, y, sizeof(y))))
        return r;
    if (qty > 1)
        snprintf(q, sizeof(q), "x%d", (int)qty);
    else
        q[0] = '\0';
    if ((r = row(d.row[0], name, "")) || (r = row(d.row[1], q, y)))
        return r;
    *ret = d;
    return 0;
}

int linedisp_subtotal(uint32_t items, int64_t total, struct linedisp *ret)
{
    struct linedisp d;
    char a[32], y[40];
    int r;
    if (ret == NULL)
        return MAMORI_ERR_INVAL;
    snprintf(a, sizeof(a), "小計 %u点", (unsigned)items);
    if ((r = jtext_yen(total, y, sizeof(y))) || (r = row(d.row[0], a, "")) ||
        (r = row(d.row[1], "合計", y)))
        return r;
    *ret = d;
    return 0;
}

int linedisp_change(int64_t tendered, int64_t change, struct linedisp *ret)
{
    struct linedisp d;
    char y1[40], y2[40];
    int r;
    if (ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = jtext_yen(tendered, y1, sizeof(y1))) || (r = jtext_yen(change, y2, sizeof(y2))) ||
        (r = row(d.row[0], "お預り", y1)) || (r = row(d.row[1], "お釣", y2)))
        return r;
    *ret = d;
    return 0;
}

int linedisp_text(const char *row1, const char *row2, struct linedisp *ret)
{
    struct linedisp d;
    int r;
    if (ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = row(d.row[0], row1 ? row1 : "", "")) || (r = row(d.row[1], row2 ? row2 : "", "")))
        return r;
    *ret = d;
    return 0;
}
