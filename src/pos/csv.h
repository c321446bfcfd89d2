/*
 * csv: an RFC 4180 record reader over struct buf (the item master import).
 *
 * Records end at LF or CRLF outside quotes; fields are separated by commas;
 * a field may be quoted with '"', and "" inside quotes is one quote; quoted
 * fields may span lines. A UTF-8 BOM at the very start is skipped. Limits:
 * CSV_RECORD_MAX bytes of field data per record, CSV_FIELDS_MAX fields.
 */
#ifndef MAMORI_POS_CSV_H
#define MAMORI_POS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define CSV_RECORD_MAX 4096
#define CSV_FIELDS_MAX 16

struct csv_record {
    uint64_t line;                 /* physical line where the record starts (1-based) */
    size_t n;                      /* fields */
    const char *f[CSV_FIELDS_MAX]; /* NUL-terminated fields (into data) */
    size_t len[CSV_FIELDS_MAX];    /* field lengths (a field may contain NUL bytes) */
    char data[CSV_RECORD_MAX + CSV_FIELDS_MAX];
};

struct csv_reader {
    struct buf *in;
    uint64_t line;   /* current physical line */
    int started;
};

void csv_reader_init(struct csv_reader *r, struct buf *in);
/* Read the next record into rec. 1 = a record, 0 = end of input,
 * MAMORI_ERR_PROTO = malformed (unterminated quote, stray quote),
 * MAMORI_ERR_TOOBIG = record or field count over the limits. After an error
 * the reader has skipped to the end of the physical line (best effort);
 * *err_line tells where. Blank lines are skipped. */
int csv_next(struct csv_reader *r, struct csv_record *rec, uint64_t *err_line);

#endif
