/*
 * server: the HTTPS front of mamori-payhost (libmicrohttpd with TLS, one
 * internal polling thread, so requests are decided one at a time).
 * POST /v1/authorize with a JSON body (at most PAYHOST_BODY_MAX bytes);
 * anything else is refused. The TLS key and a self-signed certificate
 * (EC P-256, CN/SAN localhost and 127.0.0.1) are created on first start in
 * the state directory (key.pem 0600, cert.pem), unless given; clients pin
 * cert.pem.
 */
#ifndef MAMORI_PAYHOST_SERVER_H
#define MAMORI_PAYHOST_SERVER_H

#include <stdint.h>

#include "payhost/host.h"

#define PAYHOST_PEM_MAX (16 * 1024)

struct payhost_server;

/* Load cert_path/key_path, or STATE/cert.pem and STATE/key.pem, creating
 * them when both are absent. *ret_* are malloc'd PEM strings. */
int payhost_tls_load_or_create(const char *state_dir, const char *cert_path, const char *key_path,
                               char **ret_cert_pem, char **ret_key_pem);

/* Listen on 127.0.0.1:port (loopback only). The server borrows h. */
int payhost_server_start(struct payhost *h, uint16_t port, const char *cert_pem, const char *key_pem,
                         struct payhost_server **ret);
/* The bound port (useful with port 0). */
uint16_t payhost_server_port(const struct payhost_server *s);
void payhost_server_stop(struct payhost_server *s);

#endif
