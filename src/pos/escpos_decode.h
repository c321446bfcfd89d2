/*
 * escpos_decode: turn the ESC/POS subset mamori emits back into text lines
 * (CP932 -> UTF-8, 0x5C -> ¥) and recognised commands. Used by the tests, by
 * `mamori receipt decode FILE` and by the system tests (DOMAIN.md §5.4: the
 * in-house decoder is the primary receipt checker).
 *
 * Input is outside bytes: parsed through struct buf, bounded by
 * ESCPOS_DECODE_MAX_BYTES; an unknown command is MAMORI_ERR_PROTO (the decoder
 * must not guess how long an unknown command is).
 */
#ifndef MAMORI_POS_ESCPOS_DECODE_H
#define MAMORI_POS_ESCPOS_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define ESCPOS_DECODE_MAX_BYTES (1u << 20)
#define ESCPOS_DECODE_MAX_LINES 10000
#define ESCPOS_DECODE_MAX_CMDS 100000

enum escpos_cmd_kind {
    ESCPOS_INIT = 1,   /* ESC @ */
    ESCPOS_ALIGN,      /* ESC a n: arg 0/1/2 */
    ESCPOS_BOLD,       /* ESC E n: arg 0/1 */
    ESCPOS_UNDERLINE,  /* ESC - n */
    ESCPOS_SIZE,       /* GS ! n */
    ESCPOS_FONT,       /* ESC M n */
    ESCPOS_FEED,       /* ESC d n */
    ESCPOS_CUT,        /* GS V m [n] */
    ESCPOS_DRAWER,     /* ESC p m t1 t2 */
    ESCPOS_BARCODE_HEIGHT, /* GS h n */
    ESCPOS_BARCODE_WIDTH,  /* GS w n */
    ESCPOS_HRI,        /* GS H n */
    ESCPOS_BARCODE,    /* GS k m ...: arg = m (function B numbering), data = content */
    ESCPOS_QR,         /* GS ( k store: data = content (model/size/print folded in) */
    ESCPOS_CODETABLE,  /* ESC t n */
    ESCPOS_INTL,       /* ESC R n */
    ESCPOS_KANJI_ON,   /* FS & */
    ESCPOS_KANJI_OFF,  /* FS . */
    ESCPOS_KANJI_CODE, /* FS C n */
    ESCPOS_REVERSE,    /* GS B n */
};

struct escpos_cmd {
    enum escpos_cmd_kind kind;
    int arg;            /* the command's main parameter */
    char *data;         /* BARCODE / QR content (NUL-terminated), else NULL */
    size_t line;        /* index of the text line the command precedes */
};

struct escpos_doc {
    char **lines;       /* UTF-8 text lines (LF-terminated in the stream) */
    size_t n_lines;
    struct escpos_cmd *cmds;
    size_t n_cmds;
};

/* Decode n bytes. 0 and *ret (free with escpos_doc_free); MAMORI_ERR_PROTO for
 * an unknown or truncated command or undecodable text, MAMORI_ERR_TOOBIG past
 * the limits. */
int escpos_decode(const void *p, size_t n, struct escpos_doc **ret);
void escpos_doc_free(struct escpos_doc *d);

/* First command of a kind at or after index from (-1 = none). */
long escpos_doc_find(const struct escpos_doc *d, enum escpos_cmd_kind kind, size_t from);
/* True when any line contains the UTF-8 substring s. */
bool escpos_doc_has_text(const struct escpos_doc *d, const char *s);
/* Render as readable text: each text line, and commands as "[CUT]",
 * "[BARCODE CODE128 2000...]" etc. on their own lines (appended to out). */
int escpos_doc_text(const struct escpos_doc *d, struct buf *out);

#endif
