/*
 * devlines.c: display lines for display-device firmware (devlines.h). Owns
 * UTF-8 validation, column cutting and keeping the text shown across an
 * orderly restart (volatile, never synced); not where a display's messages are
 * decided (linedisplay.c, custdisplay.c).
 */
#include "devices/devlines.h"

#include <string.h>

#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

void devlines_init(struct devlines *l, size_t rows, size_t cols)
{
    memset(l, 0, sizeof(*l));
    l->rows = rows > DEVLINES_ROWS_MAX ? DEVLINES_ROWS_MAX : rows;
    l->cols = cols > DEVLINES_COLS_MAX ? DEVLINES_COLS_MAX : cols;
}

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point, or 0. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *ret_cp)
{
    unsigned cp;
    size_t len;
    if (s[0] < 0x80) {
        *ret_cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        cp = s[0] & 0x1f;
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        cp = s[0] & 0x0f;
        len = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        cp = s[0] & 0x07;
        len = 4;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return len;
}

bool devlines_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned cp;
        size_t k = utf8_next(s + i, n - i, &cp);
        if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += k;
    }
    return true;
}

static size_t columns_of(unsigned cp)
{
    return cp < 0x80 || (cp >= 0xff61 && cp <= 0xff9f) ? 1 : 2;
}

int devlines_set(struct devlines *l, const cbor_item_t *arr, bool *ret_cut)
{
    char tmp[DEVLINES_ROWS_MAX][DEVLINES_LINE_CAP];
    bool cut = false;
    if (arr == NULL || !cbor_isa_array(arr) || !cbor_array_is_definite(arr))
        return MAMORI_ERR_INVAL;
    size_t n = cbor_array_size(arr);
    if (n > l->rows)
        return MAMORI_ERR_TOOBIG;
    for (size_t r = 0; r < n; r++) {
        const cbor_item_t *s = cbor_array_handle(arr)[r];
        if (!cbor_isa_string(s) || !cbor_string_is_definite(s))
            return MAMORI_ERR_INVAL;
        size_t len = cbor_string_length(s);
        const unsigned char *p = cbor_string_handle(s);
        if (len > DEVLINES_BYTES_MAX)
            return MAMORI_ERR_TOOBIG;
        if (!devlines_utf8_ok(p, len))
            return MAMORI_ERR_INVAL;
        size_t i = 0, cols = 0;
        while (i < len) {
            unsigned cp;
            size_t k = utf8_next(p + i, len - i, &cp);
            if (cols + columns_of(cp) > l->cols) {
                cut = true;
                break;
            }
            cols += columns_of(cp);
            i += k;
        }
        /* At most 3 bytes per column (half-width katakana), so i < DEVLINES_LINE_CAP. */
        memcpy(tmp[r], p, i);
        tmp[r][i] = '\0';
    }
    for (size_t r = 0; r < n; r++)
        memcpy(l->line[r], tmp[r], sizeof(tmp[r]));
    l->n = n;
    if (ret_cut != NULL)
        *ret_cut = cut;
    return 0;
}

void devlines_clear(struct devlines *l)
{
    l->n = 0;
    memset(l->line, 0, sizeof(l->line));
}

cbor_item_t *devlines_to_cbor(const struct devlines *l)
{
    cbor_item_t *arr = cbor_new_definite_array(l->n);
    if (arr == NULL)
        return NULL;
    for (size_t r = 0; r < l->n; r++) {
        cbor_item_t *s = cbor_build_string(l->line[r]);
        bool ok = s != NULL && cbor_array_push(arr, s);
        if (s != NULL)
            cbor_decref(&s);
        if (!ok) {
            cbor_decref(&arr);
            return NULL;
        }
    }
    return arr;
}

int devlines_keep(const struct devlines *l, const char *dir, const char *name)
{
    cbor_item_t *arr = devlines_to_cbor(l);
    int r;
    if (arr == NULL)
        return MAMORI_ERR_NOMEM;
    r = devstate_save_volatile(dir, name, arr);
    cbor_decref(&arr);
    return r;
}

void devlines_restore(struct devlines *l, const char *dir, const char *name)
{
    cbor_item_t *arr = NULL;
    if (devstate_load(dir, name, &arr) == 0) {
        if (devlines_set(l, arr, NULL) != 0)
            devlines_clear(l);
        cbor_decref(&arr);
    }
    (void)devstate_remove(dir, name);
}

int devlines_show(const struct devlines *l, const char *who, struct buf *answer)
{
    char out[DEVLINES_ROWS_MAX * (DEVLINES_LINE_CAP + 3) + 64];
    size_t off = (size_t)snprintf(out, sizeof(out), "%s:", who);
    for (size_t r = 0; r < l->n && off < sizeof(out); r++)
        off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s", r ? " | " : " ", l->line[r]);
    return devctl_answer(answer, "%s", out);
}
