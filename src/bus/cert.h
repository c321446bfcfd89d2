/*
 * cert: the manufacturer certificate a device presents in its handshake
 * (docs/protocol.md §4).
 *
 * Wire form: a CBOR array of two byte strings [tbs, sig], where tbs is the
 * canonical CBOR encoding of the map
 *   {"v":1, "model":text, "serial":text, "bus_pub":bytes(32), "log_pub":bytes(32),
 *    "fw":bytes(32), "issued":uint, "ca":bytes(32)}
 * (keys in exactly this order, shortest integer heads, definite lengths) and
 * sig is the Ed25519 signature of the manufacturer CA (public key "ca") over
 * the tbs bytes. A decoder re-encodes the fields and requires byte equality,
 * so exactly one encoding of a certificate exists.
 */
#ifndef MAMORI_CERT_H
#define MAMORI_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "keys/keys.h"

#define CERT_KEY_LEN  32
#define CERT_FW_LEN   32
#define CERT_SIG_LEN  64
#define CERT_TEXT_MAX 63   /* model and serial: 1..63 printable ASCII bytes */
#define CERT_MAX      1024 /* encoded certificate */

struct cert {
    char model[CERT_TEXT_MAX + 1];
    char serial[CERT_TEXT_MAX + 1];
    uint8_t bus_pub[CERT_KEY_LEN];
    uint8_t log_pub[CERT_KEY_LEN];
    uint8_t fw[CERT_FW_LEN];
    uint64_t issued;
    uint8_t ca[CERT_KEY_LEN];
    uint8_t sig[CERT_SIG_LEN];
};

/* The canonical to-be-signed bytes of c (without sig) appended to out. */
int cert_tbs(const struct cert *c, struct buf *out);
/* Sign c (sets c->ca to the CA's Ed25519 public key and c->sig) and append the
 * wire form to out. */
int cert_issue(struct cert *c, struct keys *ca, struct buf *out);
/* Parse the wire form (strict; signature NOT checked). */
int cert_decode(const uint8_t *p, size_t n, struct cert *ret);
/* Check the signature and that c->ca equals the trusted CA key.
 * 0, or MAMORI_ERR_AUTH. */
__attribute__((warn_unused_result)) int cert_verify(const struct cert *c,
                                                    const uint8_t trusted_ca[static CERT_KEY_LEN]);
/* Read a certificate file (at most CERT_MAX bytes) into out. */
int cert_read_file(const char *path, uint8_t *out, size_t cap, size_t *ret_n);

#endif
