/*
 * csv: owns RFC 4180 tokenising of outside bytes (through struct buf, with
 * record and field limits). It does not own what the fields mean (items.c).
 */
#include "pos/csv.h"

#include <string.h>

#include "mamori/err.h"

void csv_reader_init(struct csv_reader *r, struct buf *in)
{
    memset(r, 0, sizeof(*r));
    r->in = in;
    r->line = 1;
}

static int peek(struct csv_reader *r)
{
    return buf_remaining(r->in) ? buf_ptr(r->in)[0] : -1;
}

static int next(struct csv_reader *r)
{
    uint8_t c;
    if (buf_get_u8(r->in, &c))
        return -1;
    if (c == '\n')
        r->line++;
    return c;
}

/* After an error: drop the rest of the physical line. */
static void skip_line(struct csv_reader *r)
{
    int c;
    while ((c = next(r)) >= 0 && c != '\n')
        ;
}

int csv_next(struct csv_reader *r, struct csv_record *rec, uint64_t *err_line)
{
    size_t used = 0;
    int c;

    if (!r->started) {
        r->started = 1;
        if (buf_remaining(r->in) >= 3 && memcmp(buf_ptr(r->in), "\xEF\xBB\xBF", 3) == 0)
            (void)buf_skip(r->in, 3);
    }
    /* Skip blank lines (LF or CRLF only). */
    for (;;) {
        c = peek(r);
        if (c == '\n') {
            next(r);
            continue;
        }
        if (c == '\r' && buf_remaining(r->in) >= 2 && buf_ptr(r->in)[1] == '\n') {
            next(r);
            next(r);
            continue;
        }
        break;
    }
    if (c < 0)
        return 0;

    rec->line = r->line;
    rec->n = 0;
    for (;;) { /* one field per iteration */
        if (rec->n == CSV_FIELDS_MAX) {
            *err_line = rec->line;
            skip_line(r);
            return MAMORI_ERR_TOOBIG;
        }
        size_t start = used;
        c = peek(r);
        if (c == '"') {
            next(r);
            for (;;) {
                c = next(r);
                if (c < 0) {
                    *err_line = rec->line;
                    return MAMORI_ERR_PROTO; /* unterminated quote */
                }
                if (c == '"') {
                    if (peek(r) == '"') {
                        next(r);
                    } else {
                        break;
                    }
                }
                if (used >= CSV_RECORD_MAX) {
                    *err_line = rec->line;
                    skip_line(r);
                    return MAMORI_ERR_TOOBIG;
                }
                rec->data[used++] = (char)c;
            }
            c = peek(r);
            if (c != ',' && c != '\n' && c != '\r' && c >= 0) {
                *err_line = r->line;
                skip_line(r);
                return MAMORI_ERR_PROTO; /* text after the closing quote */
            }
        } else {
            while ((c = peek(r)) >= 0 && c != ',' && c != '\n') {
                if (c == '\r' && buf_remaining(r->in) >= 2 && buf_ptr(r->in)[1] == '\n')
                    break;
                if (c == '"') {
                    *err_line = r->line;
                    skip_line(r);
                    return MAMORI_ERR_PROTO; /* quote inside an unquoted field */
                }
                if (used >= CSV_RECORD_MAX) {
                    *err_line = rec->line;
                    skip_line(r);
                    return MAMORI_ERR_TOOBIG;
                }
                rec->data[used++] = (char)next(r);
            }
        }
        rec->len[rec->n] = used - start;
        rec->data[used++] = '\0'; /* data has CSV_FIELDS_MAX spare bytes for these */
        rec->f[rec->n] = rec->data + start;
        rec->n++;
        c = next(r);
        if (c == ',')
            continue;
        if (c == '\r') {
            if (next(r) != '\n') {
                *err_line = r->line;
                skip_line(r);
                return MAMORI_ERR_PROTO; /* bare CR */
            }
        }
        return 1; /* LF, CRLF or end of input */
    }
}
