/*
 * track: ISO/IEC 7813 magnetic stripe track 1 (format B) and track 2
 * parsing, and the Luhn check.
 *
 *   track 1: %B PAN ^ NAME ^ YYMM SSS DISCRETIONARY ?   (<= 79 characters)
 *   track 2: ; PAN = YYMM SSS DISCRETIONARY ?           (<= 40 characters)
 * On track 2 the expiry and the service code may each be '=' when absent.
 * The input is exactly the characters from start to end sentinel (readers do
 * not pass the LRC up); anything after the end sentinel is rejected.
 *
 * The result keeps only what a merchant may retain (PAN, name, expiry,
 * service code: PCI DSS 3.3.1.1); the discretionary data (PVV, CVV) is
 * checked for its character set and then dropped. Track data is HIGH:
 * callers wipe their input and the result (track_data_wipe) after use.
 */
#ifndef MAMORI_TRACK_H
#define MAMORI_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACK1_MAX 79
#define TRACK2_MAX 40
#define TRACK_PAN_MIN 12
#define TRACK_PAN_MAX 19
#define TRACK_NAME_MIN 2
#define TRACK_NAME_MAX 26
#define TRACK_LUHN_MAX 64 /* longest digit string track_luhn_* accept */

struct track_data {
    char pan[TRACK_PAN_MAX + 1];
    char name[TRACK_NAME_MAX + 1];  /* track 1 only; "" for track 2 */
    char expiry[5];                 /* YYMM, or "" when absent (track 2) */
    char service_code[4];           /* or "" when absent (track 2) */
    size_t discretionary_len;       /* length only: the content is not kept */
};

/* Parse track 1 / track 2. 0; MAMORI_ERR_INVAL on any format error;
 * MAMORI_ERR_CHECKSUM when the PAN fails the Luhn check; TOOBIG past the
 * maximum length. ret is written only on success. */
int track1_parse(const uint8_t *p, size_t n, struct track_data *ret);
int track2_parse(const uint8_t *p, size_t n, struct track_data *ret);
/* Either track, by its start sentinel. */
int track_parse(const uint8_t *p, size_t n, struct track_data *ret);

/* The simplified chip card data record (docs/protocol.md, icreader.read):
 * a track-2 image ";PAN=YYMM=?" without service code or discretionary data,
 * checked like a swiped track 2 (format, Luhn). ret (HIGH: the caller wipes
 * it) and *ret_n written only on success; INVAL, CHECKSUM, TOOBIG. */
int track_chip_image(const char *pan, const char *yymm, char ret[static TRACK2_MAX + 1], size_t *ret_n);

/* Luhn (mod 10) over 1..TRACK_LUHN_MAX ASCII digits, check digit last. */
__attribute__((warn_unused_result)) bool track_luhn_ok(const char *digits);
/* The check digit ('0'..'9') to append to body, or -1 for a bad body. */
int track_luhn_digit(const char *body);
/* True when YYMM is a valid month not before (year, month) (2000-based years). */
__attribute__((warn_unused_result)) bool track_expiry_ok(const char *yymm, int year, int month);

/* Wipe a result. */
void track_data_wipe(struct track_data *t);

#endif
