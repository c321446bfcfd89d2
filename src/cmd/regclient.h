/*
 * regclient: a minimal client of the register API (src/pos/api.h) on its
 * unix socket, for `mamori register` and the demo: one HTTP/1.1 request per
 * connection, JSON in and out.
 */
#ifndef MAMORI_CMD_REGCLIENT_H
#define MAMORI_CMD_REGCLIENT_H

#include <jansson.h>

#define REGCLIENT_RESP_MAX (4u * 1024u * 1024u) /* response bytes */

/* Send method path with body (object, may be NULL; not consumed) to the API
 * at socket_path. 0 and the HTTP status and parsed JSON (*ret, new
 * reference), or a negative MAMORI_ERR_* (socket or protocol failure). */
int regclient_call(const char *socket_path, const char *method, const char *path,
                   const json_t *body, int timeout_ms, int *ret_status, json_t **ret);

#endif
