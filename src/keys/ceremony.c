/*
 * ceremony.c: owns the key ceremony state machine (see ceremony.h): who the
 * two custodians are, their components and the combined KBPK (guarded
 * memory, no-access while idle), and the audit trail of KCVs. Owns no
 * transport: the bus flow calls in.
 *
 * Order matters: nothing secret is accepted before dual authorization; each
 * component is bound to the custodian who entered it; the KBPK exists only
 * after both components and is never returned, only used to wrap.
 */
#include "keys/ceremony.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "crypto/tr31.h"
#include "mamori/err.h"

struct ceremony_secrets {
    uint8_t comp[2][CEREMONY_KEY_MAX];
    uint8_t kbpk[CEREMONY_KEY_MAX];
};

struct ceremony {
    struct operators *ops;
    struct audit *audit;
    char device[CEREMONY_DEVICE_MAX + 1];
    size_t len;
    bool authorized, have[2], combined;
    char custodian[2][OPERATOR_ID_MAX + 1];
    struct ceremony_secrets *s; /* secmem */
};

static struct audit_actor actor_of(const struct ceremony *c, int i)
{
    struct audit_actor a = {.operator_id = i >= 0 && c->authorized ? c->custodian[i] : NULL,
                            .role = "maintainer",
                            .process = "keys.ceremony"};
    return a;
}

int ceremony_begin(struct operators *ops, struct audit *audit, const char *device_id, size_t kbpk_len,
                   struct ceremony **ret)
{
    struct ceremony *c;
    if (ops == NULL || audit == NULL || device_id == NULL || ret == NULL || device_id[0] == '\0' ||
        strlen(device_id) > CEREMONY_DEVICE_MAX || !symm_key_ok(SYMM_AES, kbpk_len))
        return MAMORI_ERR_INVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((c->s = secmem_new(sizeof(*c->s))) == NULL) {
        free(c);
        return MAMORI_ERR_NOMEM;
    }
    secmem_lock(c->s);
    c->ops = ops;
    c->audit = audit;
    c->len = kbpk_len;
    memcpy(c->device, device_id, strlen(device_id) + 1);
    struct audit_actor a = actor_of(c, -1);
    int r = audit_event(audit, &a, "keys.ceremony.begin", F_STR("device", c->device), F_INT("kbpk_bits", kbpk_len * 8));
    if (r != 0) {
        ceremony_free(c);
        return r; /* fail closed: no ceremony without its record */
    }
    *ret = c;
    return 0;
}

void ceremony_free(struct ceremony *c)
{
    if (c == NULL)
        return;
    if (c->s != NULL) {
        secmem_write(c->s);
        secmem_free(c->s);
    }
    free(c);
}

int ceremony_authorize(struct ceremony *c, const char *id1, const char *pw1, const char *id2, const char *pw2)
{
    struct operator_info o1, o2;
    int r;
    if (c == NULL)
        return MAMORI_ERR_INVAL;
    if (c->authorized)
        return MAMORI_ERR_STATE;
    if (id1 == NULL || pw1 == NULL || id2 == NULL || pw2 == NULL) {
        struct audit_actor a = actor_of(c, -1);
        (void)audit_event(c->audit, &a, "keys.ceremony.refused", F_STR("device", c->device),
                          F_STR("reason", "one_custodian"));
        return MAMORI_ERR_INVAL;
    }
    /* operators_dual_authorize refuses the same id twice before any password
     * check, and requires the maintainer role of both; it audits refusals. */
    r = operators_dual_authorize(c->ops, id1, pw1, OPERATOR_MAINTAINER, id2, pw2, OPERATOR_MAINTAINER, &o1, &o2);
    if (r != 0) {
        struct audit_actor a = actor_of(c, -1);
        (void)audit_event(c->audit, &a, "keys.ceremony.refused", F_STR("device", c->device),
                          F_STR("reason", r == MAMORI_ERR_PERM ? "dual_control" : "auth_failed"));
        return r;
    }
    memcpy(c->custodian[0], o1.id, sizeof(c->custodian[0]));
    memcpy(c->custodian[1], o2.id, sizeof(c->custodian[1]));
    c->authorized = true;
    struct audit_actor a = actor_of(c, 0);
    return audit_event(c->audit, &a, "keys.ceremony.authorized", F_STR("device", c->device),
                       F_STR("custodian1", c->custodian[0]), F_STR("custodian2", c->custodian[1]));
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int ceremony_add_component(struct ceremony *c, int custodian, const uint8_t *component, size_t len,
                           char ret_kcv[static CEREMONY_KCV_HEX])
{
    char kcv[CEREMONY_KCV_HEX];
    int r, i = custodian - 1;
    if (c == NULL || component == NULL || ret_kcv == NULL || (custodian != 1 && custodian != 2))
        return MAMORI_ERR_INVAL;
    if (!c->authorized || c->have[i] || c->combined)
        return MAMORI_ERR_STATE;
    if (len != c->len || all_zero(component, len))
        return MAMORI_ERR_INVAL;
    if ((r = kcv_hex(SYMM_AES, component, len, KCV_LEN, kcv, sizeof(kcv))) != 0)
        return r;
    struct audit_actor a = actor_of(c, i);
    if ((r = audit_event(c->audit, &a, "keys.ceremony.component", F_STR("device", c->device),
                         F_INT("component", custodian), F_STR("kcv", kcv))) != 0)
        return r;
    secmem_write(c->s);
    memcpy(c->s->comp[i], component, len);
    secmem_lock(c->s);
    c->have[i] = true;
    memcpy(ret_kcv, kcv, sizeof(kcv));
    return 0;
}

int ceremony_combine(struct ceremony *c, char ret_kcv[static CEREMONY_KCV_HEX])
{
    char kcv[CEREMONY_KCV_HEX];
    int r;
    if (c == NULL || ret_kcv == NULL)
        return MAMORI_ERR_INVAL;
    if (!c->have[0] || !c->have[1] || c->combined)
        return MAMORI_ERR_STATE;
    secmem_write(c->s);
    for (size_t k = 0; k < c->len; k++)
        c->s->kbpk[k] = c->s->comp[0][k] ^ c->s->comp[1][k];
    secmem_wipe(c->s->comp, sizeof(c->s->comp)); /* split knowledge ends here */
    if (all_zero(c->s->kbpk, c->len)) {
        secmem_lock(c->s);
        c->have[0] = c->have[1] = false;
        return MAMORI_ERR_INVAL;
    }
    r = kcv_hex(SYMM_AES, c->s->kbpk, c->len, KCV_LEN, kcv, sizeof(kcv));
    secmem_lock(c->s);
    if (r != 0)
        return r;
    struct audit_actor a = actor_of(c, 0);
    if ((r = audit_event(c->audit, &a, "keys.ceremony.kbpk", F_STR("device", c->device), F_STR("kcv", kcv),
                         F_STR("custodian2", c->custodian[1]))) != 0)
        return r;
    c->combined = true;
    memcpy(ret_kcv, kcv, sizeof(kcv));
    return 0;
}

int ceremony_wrap_initial_key(struct ceremony *c, const uint8_t *ik, size_t ik_len, char **ret_kb,
                              char ret_ik_kcv[static CEREMONY_KCV_HEX])
{
    struct tr31_header h;
    char kcv[CEREMONY_KCV_HEX], *kb = NULL;
    int r;
    if (c == NULL || ik == NULL || ret_kb == NULL || ret_ik_kcv == NULL || !symm_key_ok(SYMM_AES, ik_len))
        return MAMORI_ERR_INVAL;
    if (!c->combined)
        return MAMORI_ERR_STATE;
    memset(&h, 0, sizeof(h));
    memcpy(h.usage, "B1", 3); /* initial DUKPT key */
    h.algorithm = 'A';
    h.mode = 'X';             /* key derivation */
    memcpy(h.key_version, "00", 3);
    h.exportability = 'N';
    if ((r = kcv_hex(SYMM_AES, ik, ik_len, KCV_LEN, kcv, sizeof(kcv))) != 0)
        return r;
    secmem_read(c->s);
    r = tr31_wrap_d(c->s->kbpk, c->len, &h, ik, ik_len, &kb);
    secmem_lock(c->s);
    if (r != 0)
        return r;
    struct audit_actor a = actor_of(c, 0);
    if ((r = audit_event(c->audit, &a, "keys.ceremony.wrapped", F_STR("device", c->device), F_STR("ik_kcv", kcv),
                         F_STR("custodian1", c->custodian[0]), F_STR("custodian2", c->custodian[1]))) != 0) {
        free(kb);
        return r;
    }
    *ret_kb = kb;
    memcpy(ret_ik_kcv, kcv, sizeof(kcv));
    return 0;
}

int ceremony_with_kbpk(struct ceremony *c, ceremony_kbpk_fn fn, void *ctx)
{
    int r;
    if (c == NULL || fn == NULL)
        return MAMORI_ERR_INVAL;
    if (!c->combined)
        return MAMORI_ERR_STATE;
    secmem_read(c->s);
    r = fn(ctx, c->s->kbpk, c->len);
    secmem_lock(c->s);
    return r;
}
