/*
 * luhn: the Luhn (mod 10) check used by card numbers and some member numbers.
 * Digits only; no separators. Never logs its input (it may be a PAN).
 */
#ifndef MAMORI_POS_LUHN_H
#define MAMORI_POS_LUHN_H

#include <stdbool.h>
#include <stddef.h>

#define LUHN_MAX_DIGITS 64 /* longer inputs are rejected */

/* Luhn sum mod 10 of the whole number (0 = valid). 0, or MAMORI_ERR_INVAL. */
int luhn_checksum(const char *digits, size_t n, int *ret_sum);
/* The check digit to append to body. 0, or MAMORI_ERR_INVAL. */
int luhn_check_digit(const char *body, size_t n, int *ret_cd);
/* True when digits (with its check digit) pass. */
bool luhn_valid(const char *digits, size_t n) __attribute__((warn_unused_result));

#endif
