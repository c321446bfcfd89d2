/*
 * registry: the terminal's device registry (SQLite), pinning for every enrolled
 * device its serial, model, kind, bus key, log key and firmware measurement,
 * and who enrolled it (THR-4, PRE-4).
 *
 * registry_check() is the admission decision for a presented certificate and
 * the static key the device proved in its handshake. Enrolment needs two
 * distinct operators (maintainer + manager) who authenticated through the
 * dual-control path (src/pos/operator.h: operators_dual_authorize); enrolment
 * and removal are audit events recorded here; refusals are recorded by the
 * caller that knows the connection (bus.c) with registry_verdict_str().
 */
#ifndef MAMORI_REGISTRY_H
#define MAMORI_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "bus/cert.h"

#define REGISTRY_MAX_DEVICES  4096
#define REGISTRY_KIND_MAX     31
#define REGISTRY_OPERATOR_MAX 63

enum registry_verdict {
    REG_ACCEPT = 0,
    REG_UNKNOWN,       /* no device with this serial or key */
    REG_KEY_MISMATCH,  /* serial known with another key (swap/clone), or key under another serial */
    REG_FW_CHANGED,    /* firmware measurement differs from the pinned one */
    REG_MODEL_CHANGED, /* model differs from the pinned one */
    REG_BAD_CERT,      /* malformed, not signed by the CA, or not for the handshake key */
    REG_REMOVED,       /* the device was removed from the registry */
};

struct registry_device {
    char serial[CERT_TEXT_MAX + 1];
    char model[CERT_TEXT_MAX + 1];
    char kind[REGISTRY_KIND_MAX + 1];
    uint8_t bus_pub[CERT_KEY_LEN];
    uint8_t log_pub[CERT_KEY_LEN];
    uint8_t fw[CERT_FW_LEN];
    int64_t enrolled_at;
    char maintainer[REGISTRY_OPERATOR_MAX + 1];
    char manager[REGISTRY_OPERATOR_MAX + 1];
    bool removed;
};

struct registry;

/* Open (create) the registry at path; audit (borrowed) receives enrol/remove events. */
int registry_open(const char *path, struct audit *audit, struct registry **ret);
void registry_close(struct registry *r);

/* Short reason text for a verdict ("accept", "unknown_key", "key_mismatch", ...). */
const char *registry_verdict_str(enum registry_verdict v);

/* Decide on a device: cert bytes, the static key proven in the handshake and
 * the trusted manufacturer CA key. *ret_cert (optional) gets the parsed
 * certificate when it parsed. */
__attribute__((warn_unused_result)) enum registry_verdict
registry_check(struct registry *r, const uint8_t *cert, size_t cert_len,
               const uint8_t static_pub[static CERT_KEY_LEN],
               const uint8_t ca_pub[static CERT_KEY_LEN], struct cert *ret_cert);

struct operators;

/* Enrol a certificate as kind, under dual control: the maintainer and the
 * manager (two distinct operators holding exactly those roles) both
 * authenticate here through operators_dual_authorize(); there is no other way
 * in. MAMORI_ERR_PERM (same operator / wrong role) or the authentication
 * error refuses (audited "device.enrol_refused"); MAMORI_ERR_AUTH if the cert
 * is not signed by the trusted CA; MAMORI_ERR_EXISTS if the serial or key is
 * enrolled (remove it first). Passwords are borrowed, not copied. */
int registry_enrol(struct registry *r, struct operators *ops, const uint8_t *cert, size_t cert_len,
                   const uint8_t ca_pub[static CERT_KEY_LEN], const char *kind,
                   const char *maintainer, const char *maintainer_pw, const char *manager,
                   const char *manager_pw);
/* Mark removed (kept for history). actor names who did it. MAMORI_ERR_NOTFOUND. */
int registry_remove(struct registry *r, const char *serial, const struct audit_actor *actor);

int registry_get(struct registry *r, const char *serial, struct registry_device *ret);
int registry_find_key(struct registry *r, const uint8_t pub[static CERT_KEY_LEN],
                      struct registry_device *ret);
/* All devices (removed ones too), up to cap. */
int registry_list(struct registry *r, struct registry_device *out, size_t cap, size_t *ret_n);

#endif
