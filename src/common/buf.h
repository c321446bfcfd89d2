/*
 * buf: the one bounds-checked byte buffer (after OpenSSH's sshbuf).
 *
 * Outside bytes are read only through a struct buf: every getter checks the
 * remaining length, consumes on success, leaves the buffer and its out
 * parameter untouched on failure, and buf_end() rejects trailing data.
 * Getters chain with ||:
 *
 *     if ((r = buf_get_u8(b, &t)) || (r = buf_get_u16(b, &n)) || (r = buf_end(b)))
 *         return r;
 *
 * A writable buf owns heap memory that grows up to a hard maximum (max);
 * a view (buf_view) reads memory it does not own and cannot be written.
 * Integers are big-endian on the wire.
 */
#ifndef MAMORI_BUF_H
#define MAMORI_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUF_MAX_DEFAULT (1u << 20) /* 1 MiB: no buffer grows past this unless asked */

struct buf {
    uint8_t *d;      /* data (owned unless view) */
    size_t off;      /* read offset */
    size_t len;      /* bytes written */
    size_t cap;      /* allocated */
    size_t max;      /* hard limit on len */
    bool view;       /* read-only, not owned */
    bool secret;     /* wipe on free/grow */
};

/* An empty writable buffer limited to max bytes (0 = BUF_MAX_DEFAULT). */
void buf_init(struct buf *b, size_t max);
/* Same, and wipe the contents whenever memory is released. */
void buf_init_secret(struct buf *b, size_t max);
/* A read-only view of n bytes at p; p must outlive the view. */
void buf_view(struct buf *b, const void *p, size_t n);
/* Release memory (wiping it if secret); b becomes empty. NULL-safe. */
void buf_free(struct buf *b);
/* Forget contents but keep memory (wiped if secret). */
void buf_reset(struct buf *b);

/* Unread bytes and a pointer to them. */
size_t buf_remaining(const struct buf *b);
const uint8_t *buf_ptr(const struct buf *b);

/* Readers: 0, or MAMORI_ERR_SHORT when fewer bytes remain. */
int buf_get_u8(struct buf *b, uint8_t *ret);
int buf_get_u16(struct buf *b, uint16_t *ret);
int buf_get_u32(struct buf *b, uint32_t *ret);
int buf_get_u64(struct buf *b, uint64_t *ret);
int buf_get_bytes(struct buf *b, void *out, size_t n);
/* Consume n bytes and return a pointer into the buffer (valid until it changes). */
int buf_get_ptr(struct buf *b, size_t n, const uint8_t **ret);
int buf_skip(struct buf *b, size_t n);
/* MAMORI_ERR_TRAILING unless every byte was consumed. */
int buf_end(const struct buf *b);

/* Writers: 0, MAMORI_ERR_TOOBIG past max, MAMORI_ERR_INVAL on a view. */
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16(struct buf *b, uint16_t v);
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
int buf_put_bytes(struct buf *b, const void *p, size_t n);
/* Reserve n writable bytes at the end and return them (len grows by n). */
int buf_reserve(struct buf *b, size_t n, uint8_t **ret);
/* Drop the consumed prefix, moving unread bytes to the front. */
void buf_compact(struct buf *b);

#endif
