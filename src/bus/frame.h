/*
 * frame: the bus's framing layer, below the secure session (docs/protocol.md §2).
 *
 *   FRAME_STREAM  (unix socket, TCP): u16 big-endian length, then that many bytes.
 *                 A zero length is invalid. The stream cannot lose bytes, so a
 *                 bad length is fatal for the connection (MAMORI_ERR_PROTO).
 *   FRAME_SERIAL  (RS-232C, pty): COBS(payload || CRC-32C(payload) big-endian),
 *                 then one 0x00 delimiter. Bytes can be lost or corrupted on a
 *                 line: a frame that fails COBS, is too short, too long or has a
 *                 bad CRC is dropped and counted, and the decoder resynchronises
 *                 at the next 0x00.
 *
 * Decoders are incremental: feed whatever read() returned, then take frames
 * until frame_dec_next() says MAMORI_ERR_AGAIN.
 */
#ifndef MAMORI_FRAME_H
#define MAMORI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define FRAME_MAX     65535u /* payload bytes in one frame */
#define FRAME_CRC_LEN 4u     /* CRC-32C trailer on serial frames */
/* COBS adds one byte per 254 plus one: worst-case encoded size of a serial frame. */
#define FRAME_COBS_MAX   (FRAME_MAX + FRAME_CRC_LEN + (FRAME_MAX + FRAME_CRC_LEN) / 254u + 2u)
#define FRAME_WIRE_MAX   (FRAME_COBS_MAX + 1u) /* + delimiter; also >= 2 + FRAME_MAX */
#define FRAME_READ_CHUNK 16384u                /* most bytes a caller should feed at once */

enum frame_kind { FRAME_STREAM = 0, FRAME_SERIAL = 1 };

struct frame_stats {
    uint64_t frames;   /* good frames delivered */
    uint64_t dropped;  /* serial frames dropped (COBS, CRC, size) */
    uint64_t bad_crc;  /* of which CRC mismatches */
    uint64_t overflow; /* of which too long */
};

struct frame_dec {
    enum frame_kind kind;
    struct buf in;  /* undecoded input */
    struct buf out; /* the last decoded serial frame */
    int dead;       /* stream: a fatal framing error happened */
    int skipping;   /* serial: discarding until the next delimiter */
    struct frame_stats st;
};

/* CRC-32C (Castagnoli, reflected, init and final xor 0xffffffff). */
uint32_t frame_crc32c(const uint8_t *p, size_t n);

/* Append the wire form of one frame (1..FRAME_MAX bytes) to out. */
int frame_encode(enum frame_kind kind, const uint8_t *p, size_t n, struct buf *out);

void frame_dec_init(struct frame_dec *d, enum frame_kind kind);
void frame_dec_free(struct frame_dec *d);
/* Add received bytes. MAMORI_ERR_TOOBIG if more than FRAME_READ_CHUNK bytes are
 * pending beyond one maximal frame (the caller did not drain). */
int frame_dec_feed(struct frame_dec *d, const uint8_t *p, size_t n);
/* The next complete frame: *ret_p and *ret_n point into the decoder and stay valid
 * until the next feed/next call. MAMORI_ERR_AGAIN when more input is needed;
 * MAMORI_ERR_PROTO when a stream is broken (then always). */
int frame_dec_next(struct frame_dec *d, const uint8_t **ret_p, size_t *ret_n);

/* COBS (Cheshire & Baker) encode n bytes into out (which must hold
 * n + n/254 + 1 bytes); returns the encoded length. */
size_t frame_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
/* Decode; 0 and *ret_n, or MAMORI_ERR_INVAL on a malformed input (a zero byte,
 * a code running past the end). out must hold n bytes. */
int frame_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t *ret_n);

#endif
