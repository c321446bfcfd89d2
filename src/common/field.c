/*
 * field.c: rendering of typed fields under their data class. This is the one
 * place that decides what a HIGH or MEDIUM value looks like outside the
 * process; the logger and the audit writer both call it.
 */
#include "common/field.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "mamori/err.h"

enum dclass field_class(enum field_kind kind)
{
    switch (kind) {
    case FIELD_PAN:
    case FIELD_MASKED:
        return DCLASS_MEDIUM;
    case FIELD_TRACK:
    case FIELD_PIN:
    case FIELD_PIN_BLOCK:
    case FIELD_MEMBER_NO:
    case FIELD_SECRET:
    case FIELD_CASH_CMD:
        return DCLASS_HIGH;
    default:
        return DCLASS_LOW;
    }
}

void field_mask_pan(char *out, size_t outlen, const char *pan)
{
    char digits[32];
    size_t nd = 0;
    for (const char *c = pan ? pan : ""; *c != '\0' && nd < sizeof(digits); c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    if (outlen == 0)
        return;
    size_t keep_head = nd >= 13 ? 6 : 0; /* PCI DSS: at most first 6 + last 4 */
    size_t keep_tail = nd >= 8 ? 4 : 0;
    size_t o = 0;
    for (size_t i = 0; i < nd && o + 1 < outlen; i++) {
        bool keep = i < keep_head || i >= nd - keep_tail;
        out[o++] = keep ? digits[i] : '*';
    }
    out[o] = '\0';
}

void field_mask_tail(char *out, size_t outlen, const char *id)
{
    size_t n = id ? strlen(id) : 0;
    size_t o = 0;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < n && o + 1 < outlen; i++)
        out[o++] = (n >= 8 && i >= n - 4) ? id[i] : '*';
    out[o] = '\0';
}

int field_render(const struct field *f, struct buf *out)
{
    char tmp[64];
    if (field_class(f->kind) == DCLASS_HIGH) {
        static const char refused[] = "[refused:high]";
        int r = buf_put_bytes(out, refused, sizeof(refused) - 1);
        return r ? r : MAMORI_ERR_PERM;
    }
    switch (f->kind) {
    case FIELD_STR:
        return f->s ? buf_put_bytes(out, f->s, strlen(f->s)) : buf_put_bytes(out, "(null)", 6);
    case FIELD_INT:
    case FIELD_AMOUNT:
        snprintf(tmp, sizeof(tmp), "%" PRId64, f->i);
        return buf_put_bytes(out, tmp, strlen(tmp));
    case FIELD_HEX: {
        for (size_t i = 0; i < f->n; i++) {
            int r;
            hex_encode(tmp, sizeof(tmp), f->p + i, 1);
            if ((r = buf_put_bytes(out, tmp, 2)))
                return r;
        }
        return 0;
    }
    case FIELD_PAN:
        field_mask_pan(tmp, sizeof(tmp), f->s);
        return buf_put_bytes(out, tmp, strlen(tmp));
    case FIELD_MASKED:
        field_mask_tail(tmp, sizeof(tmp), f->s);
        return buf_put_bytes(out, tmp, strlen(tmp));
    default:
        return MAMORI_ERR_INVAL;
    }
}

int field_list_json(const struct field *fields, struct buf *out)
{
    json_t *obj = json_object();
    int ret = 0, r;
    struct buf val;
    if (obj == NULL)
        return MAMORI_ERR_NOMEM;
    buf_init(&val, 64 * 1024);
    for (const struct field *f = fields; f != NULL && f->kind != FIELD_END; f++) {
        json_t *j;
        buf_reset(&val);
        r = field_render(f, &val);
        if (r == MAMORI_ERR_PERM)
            ret = r;
        else if (r != 0) {
            ret = r;
            goto out;
        }
        if (f->kind == FIELD_INT || f->kind == FIELD_AMOUNT)
            j = json_integer((json_int_t)f->i);
        else
            j = json_stringn((const char *)buf_ptr(&val), buf_remaining(&val));
        if (j == NULL) /* not UTF-8: keep it, escaped as hex */
            j = json_string("[invalid-utf8]");
        json_object_set_new(obj, f->name ? f->name : "?", j);
    }
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (s == NULL) {
        ret = MAMORI_ERR_NOMEM;
        goto out;
    }
    r = buf_put_bytes(out, s, strlen(s) + 1);
    if (r == 0)
        out->len--; /* keep the NUL in memory, not in len */
    else
        ret = r;
    free(s);
out:
    buf_free(&val);
    json_decref(obj);
    return ret;
}
