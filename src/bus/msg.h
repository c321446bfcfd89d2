/*
 * msg: the bus message envelope (docs/protocol.md §5). Every message is one
 * CBOR map:
 *
 *   {"t": text type, "id": uint message id, "ref": uint (replies only), "b": map body}
 *
 * Decoding is  strict, through hard limits checked before libcbor builds
 * anything: definite lengths only (no indefinite items), shortest-form heads,
 * no tags, no undefined or other simple values but false/true/null, floats
 * allowed, map keys are text strings or integers and unique, depth <= MSG_MAX_DEPTH, <=
 * MSG_MAX_ITEMS items in all, strings <= MSG_MAX_STRING bytes, no trailing bytes, no unknown
 * envelope keys. Encoding is canonical (definite lengths, shortest integer heads, map entries in
 * insertion order).
 *
 * An error reply is {t:"error", id, ref, b:{code: int MAMORI_ERR_*, msg: text}}.
 */
#ifndef MAMORI_MSG_H
#define MAMORI_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "common/buf.h"

#define MSG_MAX_BYTES  60000u /* one encoded message (fits a frame with AEAD overhead) */
#define MSG_MAX_DEPTH  8      /* nesting of arrays/maps, envelope included */
#define MSG_MAX_ITEMS  2048   /* data items in one message */
#define MSG_MAX_MAP    256    /* entries in one map */
#define MSG_MAX_STRING 32768u /* bytes in one text or byte string */
#define MSG_TYPE_MAX   48     /* bytes in a type name: [a-z0-9._-]+ */

struct msg {
    char type[MSG_TYPE_MAX + 1];
    uint64_t id;
    uint64_t ref; /* valid when has_ref */
    bool has_ref;
    cbor_item_t *body; /* a map or NULL; owned by the msg */
};

/* Encode m canonically and append to out. MAMORI_ERR_TOOBIG past MSG_MAX_BYTES. */
int msg_encode(const struct msg *m, struct buf *out);
/* Decode exactly n bytes; on success *ret owns a new body reference. */
int msg_decode(const uint8_t *p, size_t n, struct msg *ret);
/* Release the body; m is reset (NULL-safe). */
void msg_clear(struct msg *m);
/* Check a type name (1..MSG_TYPE_MAX of [a-z0-9._-]). */
bool msg_type_valid(const char *type);

/* Scan p[0..n) against the limits above without building items (also used by
 * cert.c). 0 or MAMORI_ERR_INVAL / MAMORI_ERR_TOOBIG / MAMORI_ERR_TRAILING. */
int msg_cbor_check(const uint8_t *p, size_t n);
/* Canonical encoding of any item this module accepts (append to out). */
int msg_cbor_write(const cbor_item_t *item, struct buf *out);
/* Parse a checked CBOR item (msg_cbor_check first, then libcbor). */
int msg_cbor_parse(const uint8_t *p, size_t n, cbor_item_t **ret);

/* Body builders: a new empty map (owned by the caller, NULL on OOM). */
cbor_item_t *msg_body_new(void);
/* Put key -> value into map (value: copied / built here). 0 or MAMORI_ERR_NOMEM,
 * MAMORI_ERR_INVAL if map is not a map. */
int msg_put_str(cbor_item_t *map, const char *key, const char *v);
int msg_put_int(cbor_item_t *map, const char *key, int64_t v);
int msg_put_bytes(cbor_item_t *map, const char *key, const uint8_t *p, size_t n);
int msg_put_bool(cbor_item_t *map, const char *key, bool v);
/* Put an item; takes a reference from the caller on success and failure. */
int msg_put_item(cbor_item_t *map, const char *key, cbor_item_t *v);
/* Integer items with the shortest width. */
cbor_item_t *msg_item_int(int64_t v);

/* Body getters: MAMORI_ERR_NOTFOUND when the key is absent (or body NULL),
 * MAMORI_ERR_INVAL when it has another type. Out-params untouched on failure. */
const cbor_item_t *msg_get(const cbor_item_t *map, const char *key);
/* Text copied NUL-terminated into out; MAMORI_ERR_TOOBIG if it does not fit or
 * contains a NUL. */
int msg_get_str(const cbor_item_t *map, const char *key, char *out, size_t cap);
int msg_get_int(const cbor_item_t *map, const char *key, int64_t *ret);
/* Borrowed pointer into the item. */
int msg_get_bytes(const cbor_item_t *map, const char *key, const uint8_t **ret_p, size_t *ret_n);
int msg_get_bool(const cbor_item_t *map, const char *key, bool *ret);

/* An error reply to request ref: {code, msg}. */
int msg_make_error(struct msg *m, uint64_t id, uint64_t ref, int code, const char *text);

#endif
