/*
 * cborsafe: checks of CBOR simple values (false/true/null) that are safe on
 * any item. libcbor 0.8's cbor_is_bool / cbor_is_null / cbor_get_bool assert
 * (abort the process) when given a float, and floats are valid in bus
 * messages, so outside input must never reach them: use these instead.
 */
#ifndef MAMORI_CBORSAFE_H
#define MAMORI_CBORSAFE_H

#include <stdbool.h>

#include <cbor.h>

/* True when it is the simple value v (CBOR_CTRL_FALSE/TRUE/NULL/UNDEF);
 * false for NULL, floats and every other item. */
bool cborsafe_simple_is(const cbor_item_t *it, uint8_t v);
/* True when it is CBOR false or true. */
bool cborsafe_is_bool(const cbor_item_t *it);
/* True when it is CBOR null. */
bool cborsafe_is_null(const cbor_item_t *it);
/* 0 with *ret set when it is a bool; MAMORI_ERR_INVAL otherwise (*ret untouched). */
int cborsafe_get_bool(const cbor_item_t *it, bool *ret);

#endif
