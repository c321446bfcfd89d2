/*
 * devbody: reading and building the CBOR map bodies of device messages.
 *
 * Every body that arrives from the bus is hostile until checked: a firmware
 * request handler first calls devbody_check() (a definite map of at most
 * DEVBODY_MAX_KEYS text keys, no duplicates), then reads each key through a
 * typed getter with an explicit range or size limit. Getters write their
 * ret_* out-parameters only on success and return:
 *   0, MAMORI_ERR_NOTFOUND (key absent), MAMORI_ERR_INVAL (wrong CBOR type or
 *   out of range), MAMORI_ERR_TOOBIG (longer than the limit).
 *
 * Builders chain with ||: devbody_put_*() return 0 or MAMORI_ERR_NOMEM.
 */
#ifndef MAMORI_DEVBODY_H
#define MAMORI_DEVBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#define DEVBODY_MAX_KEYS 32    /* keys in one request body */
#define DEVBODY_KEY_MAX 32     /* bytes in one key */

/* 0 when body is a map as above; NULL is accepted (an empty body). */
__attribute__((warn_unused_result)) int devbody_check(const cbor_item_t *body);

/* The value for key in map (NULL if absent or map is NULL). */
const cbor_item_t *devbody_find(const cbor_item_t *map, const char *key);

/* An integer (CBOR major type 0 or 1) with min <= v <= max. */
int devbody_get_int(const cbor_item_t *map, const char *key, int64_t min, int64_t max,
                    int64_t *ret);
/* A definite text string without NUL bytes, copied NUL-terminated into out
 * (cap bytes including the NUL; longer is MAMORI_ERR_TOOBIG). */
int devbody_get_str(const cbor_item_t *map, const char *key, char *out, size_t cap);
/* A definite byte string of at most max bytes (pointer into the item). */
int devbody_get_bytes(const cbor_item_t *map, const char *key, size_t max,
                      const uint8_t **ret_p, size_t *ret_n);
int devbody_get_bool(const cbor_item_t *map, const char *key, bool *ret);

/* A new empty map with room for DEVBODY_MAX_KEYS keys (NULL on allocation failure). */
cbor_item_t *devbody_new(void);
/* Add key -> value. put_item takes ownership of v (also on failure). */
int devbody_put_item(cbor_item_t *map, const char *key, cbor_item_t *v);
int devbody_put_int(cbor_item_t *map, const char *key, int64_t v);
int devbody_put_str(cbor_item_t *map, const char *key, const char *s);
int devbody_put_bytes(cbor_item_t *map, const char *key, const void *p, size_t n);
int devbody_put_bool(cbor_item_t *map, const char *key, bool v);

/* *ret_reply = a new empty map (the reply of a request that returns nothing;
 * replies are always maps). 0 or MAMORI_ERR_NOMEM. */
int devbody_empty_reply(cbor_item_t **ret_reply);

/* A CBOR integer item for v (NULL on allocation failure). */
cbor_item_t *devbody_int(int64_t v);
/* Read a CBOR integer item into *ret (0 or MAMORI_ERR_INVAL). */
int devbody_int_value(const cbor_item_t *item, int64_t *ret);

#endif
