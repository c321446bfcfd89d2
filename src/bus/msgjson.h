/*
 * msgjson: CBOR message bodies <-> JSON for the local control socket and the
 * CLI (never on the bus). Byte strings are written as "hex:..." strings and a
 * JSON string starting with "hex:" becomes a byte string.
 */
#ifndef MAMORI_MSGJSON_H
#define MAMORI_MSGJSON_H

#include <cbor.h>
#include <jansson.h>

/* New JSON value for item (NULL item -> JSON null); NULL on OOM or an
 * unsupported item (tags). */
json_t *msgjson_from_cbor(const cbor_item_t *item);
/* New CBOR item for a JSON value; MAMORI_ERR_INVAL past MSG_MAX_DEPTH or bad hex. */
int msgjson_to_cbor(const json_t *j, cbor_item_t **ret);

#endif
