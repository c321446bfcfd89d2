/*
 * jtext: Japanese text helpers for receipts and displays: UTF-8 checking,
 * display width (full-width = 2 columns, half-width katakana = 1), truncating
 * and padding to a width, yen formatting, UTF-8 <-> CP932 through iconv.
 */
#ifndef MAMORI_POS_JTEXT_H
#define MAMORI_POS_JTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* True when p[0..n) is well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */
bool jtext_utf8_valid(const void *p, size_t n) __attribute__((warn_unused_result));
/* Display width of a UTF-8 string (columns), or MAMORI_ERR_INVAL. */
int jtext_width(const char *s, size_t *ret);
/* Append s cut to at most cols columns (never splitting a character), then
 * pad with spaces to exactly cols when pad is true. */
int jtext_put_fit(struct buf *out, const char *s, size_t cols, bool pad);
/* "￥1,410" (full-width yen, negatives as "-￥90") into ret (NUL-terminated). */
int jtext_yen(int64_t amount, char *ret, size_t ret_len);
/* Plain "1,410" with separators. */
int jtext_commas(int64_t amount, char *ret, size_t ret_len);
/* Convert UTF-8 to CP932 (appended to out). MAMORI_ERR_INVAL if not representable. */
int jtext_to_cp932(const char *s, size_t n, struct buf *out);
/* Convert CP932 to UTF-8 (appended to out). MAMORI_ERR_INVAL on bad bytes. */
int jtext_from_cp932(const void *p, size_t n, struct buf *out);

#endif
