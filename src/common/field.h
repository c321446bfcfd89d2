/*
 * field: typed values with a data class (POL-1, ARCHITECTURE §8).
 *
 * Logs, audit details and anything else that leaves a process as text take
 * typed fields, never format strings of values. The kind of a field fixes its
 * class, and the class fixes how it may be rendered:
 *   LOW    rendered as is;
 *   MEDIUM masked (a PAN keeps at most its first 6 and last 4 digits);
 *   HIGH   never rendered: the renderer writes "[refused:high]" and reports
 *          MAMORI_ERR_PERM so the caller knows it tried.
 *
 *     log_info("device.attach", F_STR("serial", s), F_INT("port", 3));
 */
#ifndef MAMORI_FIELD_H
#define MAMORI_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum dclass { DCLASS_LOW = 0, DCLASS_MEDIUM = 1, DCLASS_HIGH = 2 };

enum field_kind {
    FIELD_END = 0,   /* terminates a field list */
    FIELD_STR,       /* LOW: text */
    FIELD_INT,       /* LOW: signed integer */
    FIELD_AMOUNT,    /* LOW: money in yen */
    FIELD_HEX,       /* LOW: bytes shown as hex (hashes, public keys, KCVs) */
    FIELD_PAN,       /* MEDIUM: card number, masked to first 6 + last 4 */
    FIELD_MASKED,    /* MEDIUM: other identifier, masked to last 4 */
    FIELD_TRACK,     /* HIGH: magnetic track data */
    FIELD_PIN,       /* HIGH: clear PIN */
    FIELD_PIN_BLOCK, /* HIGH: PIN block */
    FIELD_MEMBER_NO, /* HIGH: point card member number */
    FIELD_SECRET,    /* HIGH: keys, passwords, key components */
    FIELD_CASH_CMD,  /* HIGH: raw cash in/out command bodies */
};

struct field {
    enum field_kind kind;
    const char *name;
    const char *s;       /* STR, PAN, MASKED, TRACK, PIN, MEMBER_NO */
    int64_t i;           /* INT, AMOUNT */
    const uint8_t *p;    /* HEX, PIN_BLOCK, SECRET, CASH_CMD */
    size_t n;
};

#define F_STR(k, v) ((struct field){.kind = FIELD_STR, .name = (k), .s = (v)})
#define F_INT(k, v) ((struct field){.kind = FIELD_INT, .name = (k), .i = (int64_t)(v)})
#define F_AMOUNT(k, v) ((struct field){.kind = FIELD_AMOUNT, .name = (k), .i = (int64_t)(v)})
#define F_HEX(k, ptr, len) ((struct field){.kind = FIELD_HEX, .name = (k), .p = (ptr), .n = (len)})
#define F_PAN(k, v) ((struct field){.kind = FIELD_PAN, .name = (k), .s = (v)})
#define F_MASKED(k, v) ((struct field){.kind = FIELD_MASKED, .name = (k), .s = (v)})
#define F_TRACK(k, v) ((struct field){.kind = FIELD_TRACK, .name = (k), .s = (v)})
#define F_PIN(k, v) ((struct field){.kind = FIELD_PIN, .name = (k), .s = (v)})
#define F_MEMBER_NO(k, v) ((struct field){.kind = FIELD_MEMBER_NO, .name = (k), .s = (v)})
#define F_SECRET(k, ptr, len) ((struct field){.kind = FIELD_SECRET, .name = (k), .p = (ptr), .n = (len)})
#define F_END ((struct field){.kind = FIELD_END})

/* The class of a kind. */
enum dclass field_class(enum field_kind kind);

/* Mask a PAN into out: first 6 and last 4 digits kept, the rest '*'; shorter
 * numbers keep only the last 4 (or nothing under 8 digits). Non-digits dropped. */
void field_mask_pan(char *out, size_t outlen, const char *pan);
/* Mask any identifier to its last 4 characters. */
void field_mask_tail(char *out, size_t outlen, const char *id);

/* Append the rendered value of f (not its name) to out as text. Returns 0, or
 * MAMORI_ERR_PERM when f is HIGH (the text "[refused:high]" is still written),
 * or a buf error. */
int field_render(const struct field *f, struct buf *out);

/* Render a FIELD_END-terminated list as a compact JSON object into out (NUL
 * terminated, without the NUL counted in len). Returns 0 or MAMORI_ERR_PERM if any
 * HIGH field was refused (the object is still complete), or a buf error. */
int field_list_json(const struct field *fields, struct buf *out);

#endif
