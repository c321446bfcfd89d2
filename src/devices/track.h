/*
 * track: parsing ISO/IEC 7813 magnetic stripe tracks inside the card reader
 * (DOMAIN.md §4). Track data is HIGH (POL-1): a struct track_card holds the
 * clear PAN and must be wiped with track_wipe() after use; only its masked
 * form (first 6 + last 4 at most) may leave the device.
 *
 * Track 1 (format B):  [%]B PAN ^ NAME ^ YYMM SSS DISCRETIONARY [?]
 * Track 2:             [;]PAN = YYMM SSS DISCRETIONARY [?]
 * Sentinels are optional but must pair; expiry and service code may each be
 * absent ('^' / '=' in their place). When both tracks are given, their PAN
 * and expiry must agree.
 */
#ifndef MAMORI_TRACK_H
#define MAMORI_TRACK_H

#include <stddef.h>

#define TRACK1_MAX 79
#define TRACK2_MAX 40
#define TRACK_PAN_MIN 12
#define TRACK_PAN_MAX 19
#define TRACK_NAME_MAX 26

struct track_card {
    char pan[TRACK_PAN_MAX + 1];
    char expiry[5];  /* YYMM, "" when absent */
    char service[4]; /* "" when absent */
    char name[TRACK_NAME_MAX + 1];
    unsigned tracks; /* UPOS MSR_TR_1=1 | MSR_TR_2=2: which were read */
};

/* Parse one track (n bytes, not NUL-terminated). 0, MAMORI_ERR_INVAL
 * (malformed) or MAMORI_ERR_TOOBIG. *ret is written only on success. */
int track_parse1(const char *t, size_t n, struct track_card *ret);
int track_parse2(const char *t, size_t n, struct track_card *ret);
/* Parse track 1 and/or track 2 (NULL = absent; at least one). */
int track_parse(const char *t1, const char *t2, struct track_card *ret);
/* The masked PAN (first 6 and last 4 at most, others '*') into out. */
void track_masked_pan(const struct track_card *c, char out[static TRACK_PAN_MAX + 1]);
/* Wipe a card record (not optimised away). NULL-safe. */
void track_wipe(struct track_card *c);

#endif
