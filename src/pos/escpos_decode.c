/*
 * escpos_decode: owns the reading of ESC/POS bytes back into text and
 * commands, for exactly the subset in DOMAIN.md §5.1 (what receipt.c and the
 * register emit). Unknown commands are refused, not skipped: their length is
 * unknown, and guessing would desynchronise the text that the tests check.
 */
#include "pos/escpos_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/err.h"
#include "pos/jtext.h"

#define LINE_RAW_MAX 4096

struct dec {
    struct escpos_doc *d;
    size_t cap_lines, cap_cmds;
    struct buf line; /* raw CP932 bytes of the current line */
};

void escpos_doc_free(struct escpos_doc *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_lines; i++)
        free(d->lines[i]);
    for (size_t i = 0; i < d->n_cmds; i++)
        free(d->cmds[i].data);
    free(d->lines);
    free(d->cmds);
    free(d);
}

static int add_cmd(struct dec *x, enum escpos_cmd_kind k, int arg, const uint8_t *data, size_t n)
{
    struct escpos_doc *d = x->d;
    if (d->n_cmds >= ESCPOS_DECODE_MAX_CMDS)
        return MAMORI_ERR_TOOBIG;
    if (d->n_cmds == x->cap_cmds) {
        size_t nc = x->cap_cmds ? x->cap_cmds * 2 : 32;
        struct escpos_cmd *p = realloc(d->cmds, nc * sizeof(*p));
        if (p == NULL)
            return MAMORI_ERR_NOMEM;
        d->cmds = p;
        x->cap_cmds = nc;
    }
    struct escpos_cmd *c = &d->cmds[d->n_cmds];
    memset(c, 0, sizeof(*c));
    c->kind = k;
    c->arg = arg;
    c->line = d->n_lines;
    if (data != NULL) {
        if ((c->data = malloc(n + 1)) == NULL)
            return MAMORI_ERR_NOMEM;
        memcpy(c->data, data, n);
        c->data[n] = '\0';
        /* Printable ASCII only in barcode content. */
        for (size_t i = 0; i < n; i++)
            if (c->data[i] < 0x20 || c->data[i] > 0x7E)
                c->data[i] = '?';
    }
    d->n_cmds++;
    return 0;
}

/* End the current text line: CP932 -> UTF-8, then 0x5C (decoded as '\') -> ¥. */
static int end_line(struct dec *x)
{
    struct escpos_doc *d = x->d;
    struct buf u;
    int r;
    if (d->n_lines >= ESCPOS_DECODE_MAX_LINES)
        return MAMORI_ERR_TOOBIG;
    if (d->n_lines == x->cap_lines) {
        size_t nc = x->cap_lines ? x->cap_lines * 2 : 64;
        char **p = realloc(d->lines, nc * sizeof(*p));
        if (p == NULL)
            return MAMORI_ERR_NOMEM;
        d->lines = p;
        x->cap_lines = nc;
    }
    buf_init(&u, LINE_RAW_MAX * 4);
    if ((r = jtext_from_cp932(buf_ptr(&x->line), buf_remaining(&x->line), &u)) != 0) {
        buf_free(&u);
        return r == MAMORI_ERR_INVAL ? MAMORI_ERR_PROTO : r;
    }
    size_t n = buf_remaining(&u);
    const uint8_t *p = buf_ptr(&u);
    size_t yen = 0;
    for (size_t i = 0; i < n; i++)
        yen += p[i] == '\\';
    char *s = malloc(n + yen + 1);
    if (s == NULL) {
        buf_free(&u);
        return MAMORI_ERR_NOMEM;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            s[o++] = (char)0xC2; /* U+00A5 ¥ */
            s[o++] = (char)0xA5;
        } else {
            s[o++] = (char)p[i];
        }
    }
    s[o] = '\0';
    buf_free(&u);
    buf_reset(&x->line);
    d->lines[d->n_lines++] = s;
    return 0;
}

static int barcode_fn_a(struct dec *x, struct buf *b, uint8_t m)
{
    /* Function A: data up to NUL. */
    const uint8_t *start = buf_ptr(b);
    size_t n = 0;
    uint8_t c;
    for (;;) {
        if (buf_get_u8(b, &c))
            return MAMORI_ERR_PROTO;
        if (c == 0)
            break;
        if (++n > 255)
            return MAMORI_ERR_PROTO;
    }
    return add_cmd(x, ESCPOS_BARCODE, 65 + m, start, n);
}

static int gs_paren_k(struct dec *x, struct buf *b)
{
    uint8_t k, pl, ph, cn, fn;
    const uint8_t *p;
    int r;
    if ((r = buf_get_u8(b, &k)) || k != 'k')
        return MAMORI_ERR_PROTO;
    if (buf_get_u8(b, &pl) || buf_get_u8(b, &ph))
        return MAMORI_ERR_PROTO;
    size_t len = (size_t)pl + 256u * ph;
    if (len < 2 || buf_get_u8(b, &cn) || buf_get_u8(b, &fn) || cn != 0x31)
        return MAMORI_ERR_PROTO;
    if (buf_get_ptr(b, len - 2, &p))
        return MAMORI_ERR_PROTO;
    if (fn == 0x50) { /* store: m=0x30 then data */
        if (len < 3 || p[0] != 0x30)
            return MAMORI_ERR_PROTO;
        return add_cmd(x, ESCPOS_QR, 0, p + 1, len - 3);
    }
    if (fn == 0x41 || fn == 0x43 || fn == 0x45 || fn == 0x51)
        return 0; /* model, size, error level, print: folded into the QR command */
    return MAMORI_ERR_PROTO;
}

static int decode(struct dec *x, struct buf *b)
{
    uint8_t c, a, n, m, t1, t2;
    const uint8_t *p;
    int r;
    while (buf_remaining(b) > 0) {
        if ((r = buf_get_u8(b, &c)))
            return r;
        if (c == '\n') {
            if ((r = end_line(x)))
                return r;
            continue;
        }
        if (c == '\r')
            continue;
        if (c >= 0x20) {
            if (buf_remaining(&x->line) >= LINE_RAW_MAX)
                return MAMORI_ERR_TOOBIG;
            if ((r = buf_put_u8(&x->line, c)))
                return r;
            continue;
        }
        if (buf_get_u8(b, &a))
            return MAMORI_ERR_PROTO;
        if (c == 0x1B) { /* ESC */
            switch (a) {
            case '@': r = add_cmd(x, ESCPOS_INIT, 0, NULL, 0); break;
            case 'a': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_ALIGN, n % 48, NULL, 0); break;
            case 'E': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_BOLD, n & 1, NULL, 0); break;
            case '-': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_UNDERLINE, n % 48, NULL, 0); break;
            case 'M': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_FONT, n % 48, NULL, 0); break;
            case 'd': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_FEED, n, NULL, 0); break;
            case 't': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_CODETABLE, n, NULL, 0); break;
            case 'R': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_INTL, n, NULL, 0); break;
            case 'p':
                if (buf_get_u8(b, &m) || buf_get_u8(b, &t1) || buf_get_u8(b, &t2))
                    return MAMORI_ERR_PROTO;
                r = add_cmd(x, ESCPOS_DRAWER, m % 48, NULL, 0);
                break;
            default: return MAMORI_ERR_PROTO;
            }
        } else if (c == 0x1C) { /* FS */
            switch (a) {
            case '&': r = add_cmd(x, ESCPOS_KANJI_ON, 0, NULL, 0); break;
            case '.': r = add_cmd(x, ESCPOS_KANJI_OFF, 0, NULL, 0); break;
            case 'C': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_KANJI_CODE, n % 48, NULL, 0); break;
            default: return MAMORI_ERR_PROTO;
            }
        } else if (c == 0x1D) { /* GS */
            switch (a) {
            case '!': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_SIZE, n, NULL, 0); break;
            case 'h': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_BARCODE_HEIGHT, n, NULL, 0); break;
            case 'w': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_BARCODE_WIDTH, n, NULL, 0); break;
            case 'H': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_HRI, n % 48, NULL, 0); break;
            case 'B': r = buf_get_u8(b, &n) ? MAMORI_ERR_PROTO : add_cmd(x, ESCPOS_REVERSE, n & 1, NULL, 0); break;
            case 'V':
                if (buf_get_u8(b, &m))
                    return MAMORI_ERR_PROTO;
                if ((m == 65 || m == 66) && buf_get_u8(b, &n))
                    return MAMORI_ERR_PROTO;
                r = add_cmd(x, ESCPOS_CUT, m, NULL, 0);
                break;
            case 'k':
                if (buf_get_u8(b, &m))
                    return MAMORI_ERR_PROTO;
                if (m <= 6) {
                    r = barcode_fn_a(x, b, m);
                } else if (m >= 65 && m <= 78) {
                    if (buf_get_u8(b, &n) || buf_get_ptr(b, n, &p))
                        return MAMORI_ERR_PROTO;
                    /* CODE128 data starts with a code-set selector {A {B {C. */
                    if (m == 73 && n >= 2 && p[0] == '{') {
                        p += 2;
                        n = (uint8_t)(n - 2);
                    }
                    r = add_cmd(x, ESCPOS_BARCODE, m, p, n);
                } else {
                    return MAMORI_ERR_PROTO;
                }
                break;
            case '(':
                r = gs_paren_k(x, b);
                break;
            default: return MAMORI_ERR_PROTO;
            }
        } else {
            return MAMORI_ERR_PROTO;
        }
        if (r)
            return r;
    }
    if (buf_remaining(&x->line) > 0)
        return end_line(x);
    return 0;
}

int escpos_decode(const void *p, size_t n, struct escpos_doc **ret)
{
    struct dec x;
    struct buf b;
    int r;
    if (ret == NULL || (p == NULL && n > 0))
        return MAMORI_ERR_INVAL;
    if (n > ESCPOS_DECODE_MAX_BYTES)
        return MAMORI_ERR_TOOBIG;
    memset(&x, 0, sizeof(x));
    if ((x.d = calloc(1, sizeof(*x.d))) == NULL)
        return MAMORI_ERR_NOMEM;
    buf_init(&x.line, LINE_RAW_MAX + 1);
    buf_view(&b, p, n);
    r = decode(&x, &b);
    buf_free(&x.line);
    if (r) {
        escpos_doc_free(x.d);
        return r;
    }
    *ret = x.d;
    return 0;
}

long escpos_doc_find(const struct escpos_doc *d, enum escpos_cmd_kind kind, size_t from)
{
    if (d == NULL)
        return -1;
    for (size_t i = from; i < d->n_cmds; i++)
        if (d->cmds[i].kind == kind)
            return (long)i;
    return -1;
}

bool escpos_doc_has_text(const struct escpos_doc *d, const char *s)
{
    if (d == NULL || s == NULL)
        return false;
    for (size_t i = 0; i < d->n_lines; i++)
        if (strstr(d->lines[i], s) != NULL)
            return true;
    return false;
}

static const char *barcode_name(int m)
{
    static const char *const names[] = {"UPC-A", "UPC-E", "JAN13", "JAN8", "CODE39", "ITF",
                                        "CODABAR", "CODE93", "CODE128", "GS1-128"};
    return m >= 65 && m <= 74 ? names[m - 65] : "GS1-DATABAR";
}

static int cmd_text(const struct escpos_cmd *c, struct buf *out)
{
    const char *s = NULL;
    char tmp[64];
    switch (c->kind) {
    case ESCPOS_CUT: s = "[CUT]"; break;
    case ESCPOS_DRAWER: s = "[DRAWER]"; break;
    case ESCPOS_BARCODE:
        if (buf_put_bytes(out, "[BARCODE ", 9) ||
            buf_put_bytes(out, barcode_name(c->arg), strlen(barcode_name(c->arg))) ||
            buf_put_u8(out, ' ') || buf_put_bytes(out, c->data, strlen(c->data)) ||
            buf_put_bytes(out, "]\n", 2))
            return MAMORI_ERR_TOOBIG;
        return 0;
    case ESCPOS_QR:
        if (buf_put_bytes(out, "[QR ", 4) || buf_put_bytes(out, c->data, strlen(c->data)) ||
            buf_put_bytes(out, "]\n", 2))
            return MAMORI_ERR_TOOBIG;
        return 0;
    default:
        return 0;
    }
    snprintf(tmp, sizeof(tmp), "%s\n", s);
    return buf_put_bytes(out, tmp, strlen(tmp));
}

int escpos_doc_text(const struct escpos_doc *d, struct buf *out)
{
    size_t ci = 0;
    int r;
    if (d == NULL || out == NULL)
        return MAMORI_ERR_INVAL;
    for (size_t li = 0; li <= d->n_lines; li++) {
        while (ci < d->n_cmds && d->cmds[ci].line == li)
            if ((r = cmd_text(&d->cmds[ci++], out)))
                return r;
        if (li < d->n_lines &&
            ((r = buf_put_bytes(out, d->lines[li], strlen(d->lines[li]))) || (r = buf_put_u8(out, '\n'))))
            return r;
    }
    return 0;
}
