/*
 * touchlayout.c: owns the touch panel's layout text (the embedded default
 * and a store's layout.txt): parsing it strictly, hit-testing a touch and
 * finding a button by id. It does not own what a button does (the
 * register's poskeys_button) nor the panel's events (touchpanel.c).
 */
#include "devices/touchlayout.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "devices/devlines.h"
#include "mamori/err.h"

/* PLU presets for items without a barcode (data/items.csv), a numeric pad,
 * function keys and preset cash amounts. */
const char touchlayout_default[] =
    "# COL ROW ID LABEL: the panel's default layout (800 x 480, 8 x 6 cells)\n"
    "0 0 PLU:1 バナナ\n1 0 PLU:2 りんご\n2 0 PLU:3 キャベツ\n3 0 PLU:5 トマト\n"
    "4 0 PLU:101 幕の内弁当\n5 0 PLU:102 おにぎり鮭\n6 0 PLU:900 レジ袋\n7 0 DEPT 部門\n"
    "0 1 7 7\n1 1 8 8\n2 1 9 9\n3 1 QTY ×\n4 1 EATIN 店内\n5 1 TAKEOUT 持帰\n6 1 VOID 取消\n"
    "7 1 CLEAR クリア\n"
    "0 2 4 4\n1 2 5 5\n2 2 6 6\n3 2 00 00\n4 2 DISCOUNT 値引\n5 2 CANCEL 中止\n6 2 SUSPEND 保留\n"
    "7 2 RESUME 呼出\n"
    "0 3 1 1\n1 3 2 2\n2 3 3 3\n3 3 0 0\n4 3 GIFT 商品券\n5 3 COUPON クーポン\n6 3 POINTS ポイント\n"
    "7 3 PLU PLU\n"
    "0 4 ENTER 入力\n4 4 CASH:1000 千円\n5 4 CASH:5000 五千円\n6 4 CASH:10000 一万円\n"
    "7 4 SUBTOTAL 小計\n7 5 CASH 預り/現計\n";

/* One field of a line: bytes up to the next space (at most max). */
static size_t field(const char *s, size_t n, size_t *pos)
{
    size_t start = *pos;
    while (*pos < n && s[*pos] != ' ')
        (*pos)++;
    return *pos - start;
}

static void skip_spaces(const char *s, size_t n, size_t *pos)
{
    while (*pos < n && s[*pos] == ' ')
        (*pos)++;
}

/* Parse one non-comment line into b. */
static int parse_line(const char *s, size_t n, struct touchlayout_button *b)
{
    size_t pos = 0, at, len;
    skip_spaces(s, n, &pos);
    at = pos;
    if (field(s, n, &pos) != 1 || s[at] < '0' || s[at] >= '0' + TOUCHLAYOUT_COLS)
        return MAMORI_ERR_INVAL;
    b->col = s[at] - '0';
    skip_spaces(s, n, &pos);
    at = pos;
    if (field(s, n, &pos) != 1 || s[at] < '0' || s[at] >= '0' + TOUCHLAYOUT_ROWS)
        return MAMORI_ERR_INVAL;
    b->row = s[at] - '0';
    skip_spaces(s, n, &pos);
    at = pos;
    len = field(s, n, &pos);
    if (len == 0 || len > TOUCHLAYOUT_ID_MAX)
        return MAMORI_ERR_INVAL;
    for (size_t i = at; i < at + len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == ':'))
            return MAMORI_ERR_INVAL;
    memcpy(b->id, s + at, len);
    b->id[len] = '\0';
    skip_spaces(s, n, &pos);
    len = n - pos;
    while (len > 0 && s[pos + len - 1] == ' ')
        len--;
    if (len == 0 || len > TOUCHLAYOUT_LABEL_MAX ||
        !devlines_utf8_ok((const unsigned char *)s + pos, len))
        return MAMORI_ERR_INVAL;
    memcpy(b->label, s + pos, len);
    b->label[len] = '\0';
    return 0;
}

int touchlayout_parse(const uint8_t *p, size_t n, struct touchlayout *ret, size_t *ret_line)
{
    struct touchlayout l;
    struct buf in;
    size_t lineno = 0;
    if (ret_line != NULL)
        *ret_line = 0;
    if (n > TOUCHLAYOUT_FILE_MAX)
        return MAMORI_ERR_TOOBIG;
    memset(&l, 0, sizeof(l));
    buf_view(&in, p, n);
    while (buf_remaining(&in) > 0) {
        const uint8_t *line, *nl = memchr(buf_ptr(&in), '\n', buf_remaining(&in));
        size_t len = nl != NULL ? (size_t)(nl - buf_ptr(&in)) : buf_remaining(&in);
        struct touchlayout_button b;
        lineno++;
        if (ret_line != NULL)
            *ret_line = lineno;
        if (len > TOUCHLAYOUT_LINE_MAX || buf_get_ptr(&in, len, &line) != 0 ||
            (nl != NULL && buf_skip(&in, 1) != 0))
            return MAMORI_ERR_INVAL;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL)
            return MAMORI_ERR_INVAL;
        size_t lead = 0;
        while (lead < len && line[lead] == ' ')
            lead++;
        if (lead == len || line[lead] == '#')
            continue;
        memset(&b, 0, sizeof(b));
        if (parse_line((const char *)line, len, &b) != 0 || l.n == TOUCHLAYOUT_BUTTONS_MAX)
            return MAMORI_ERR_INVAL;
        for (size_t i = 0; i < l.n; i++)
            if ((l.b[i].col == b.col && l.b[i].row == b.row) || strcmp(l.b[i].id, b.id) == 0)
                return MAMORI_ERR_INVAL; /* one button per cell, one cell per id */
        l.b[l.n++] = b;
    }
    if (ret_line != NULL)
        *ret_line = 0;
    if (l.n == 0)
        return MAMORI_ERR_INVAL;
    *ret = l;
    return 0;
}

int touchlayout_load(const char *path, struct touchlayout *ret, size_t *ret_line)
{
    uint8_t text[TOUCHLAYOUT_FILE_MAX + 1];
    size_t n = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    while (n < sizeof(text) && (r = read(fd, text + n, sizeof(text) - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return MAMORI_ERR_IO;
        }
        n += (size_t)r;
    }
    close(fd);
    return touchlayout_parse(text, n, ret, ret_line); /* n past the limit: TOOBIG */
}

void touchlayout_rect(const struct touchlayout_button *b, int *ret_x, int *ret_y, int *ret_w,
                      int *ret_h)
{
    *ret_x = b->col * TOUCHLAYOUT_CELL_W + TOUCHLAYOUT_GAP;
    *ret_y = b->row * TOUCHLAYOUT_CELL_H + TOUCHLAYOUT_GAP;
    *ret_w = TOUCHLAYOUT_CELL_W - 2 * TOUCHLAYOUT_GAP;
    *ret_h = TOUCHLAYOUT_CELL_H - 2 * TOUCHLAYOUT_GAP;
}

const struct touchlayout_button *touchlayout_hit(const struct touchlayout *l, int64_t x, int64_t y)
{
    for (size_t i = 0; i < l->n; i++) {
        int bx, by, bw, bh;
        touchlayout_rect(&l->b[i], &bx, &by, &bw, &bh);
        if (x >= bx && x < bx + bw && y >= by && y < by + bh)
            return &l->b[i];
    }
    return NULL;
}

const struct touchlayout_button *touchlayout_find(const struct touchlayout *l, const char *id)
{
    for (size_t i = 0; id != NULL && i < l->n; i++)
        if (strcmp(l->b[i].id, id) == 0)
            return &l->b[i];
    return NULL;
}
