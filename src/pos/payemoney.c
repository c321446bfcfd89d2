/*
 * payemoney.c: owns the register's checks of the device-signed e-money
 * record (DEV-15; format in devices/emrec.h): the key is the IC reader's log
 * key pinned in the terminal's registry at enrolment, never a key the
 * device or the controller presents at payment time; the record must be
 * the record of this payment. Used live by paycard.c (before the tender is
 * accepted) and offline by `mamori pay verify` over pay.db.
 */
#include "pos/paycard.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "bus/registry.h"
#include "devices/emrec.h"
#include "mamori/err.h"

int paycard_emoney_check(const uint8_t *rec, size_t n, const uint8_t *pub, size_t pub_len, const char *serial,
                         int64_t amount, const char *txn, const char *idem, struct emrec *ret)
{
    struct emrec e;
    int r;
    if (rec == NULL || serial == NULL || txn == NULL || idem == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = emrec_verify(rec, n, pub, pub_len, &e)) != 0)
        return r;
    /* Signed by this device, and the record of THIS payment: a genuine
     * record of another deduction (an older one, another register's) is
     * not proof of this one. */
    if (strcmp(e.serial, serial) != 0 || amount <= 0 || e.amount != (uint64_t)amount || strcmp(e.txn, txn) != 0 ||
        strcmp(e.idem, idem) != 0)
        return MAMORI_ERR_AUTH;
    if (ret != NULL)
        *ret = e;
    return 0;
}

int paycard_pinned_key(struct registry *reg, const char *serial, uint8_t pub[static EMREC_PUB_LEN])
{
    struct registry_device d;
    int r;
    if (reg == NULL || serial == NULL)
        return MAMORI_ERR_STATE;
    if ((r = registry_get(reg, serial, &d)) != 0)
        return r;
    if (d.removed || strcmp(d.kind, "icreader") != 0)
        return MAMORI_ERR_AUTH;
    memcpy(pub, d.log_pub, EMREC_PUB_LEN);
    return 0;
}

int paycard_emoney_verify_stored(struct registry *reg, const char *extra_json, int64_t amount, const char *host_txn,
                                 struct emrec *ret)
{
    json_t *j = NULL;
    uint8_t rec[EMREC_MAX], pub[EMREC_PUB_LEN];
    size_t n = 0;
    struct emrec e;
    char want[24];
    int r = MAMORI_ERR_PROTO;
    if (extra_json == NULL || host_txn == NULL)
        return MAMORI_ERR_INVAL;
    if ((j = json_loads(extra_json, JSON_REJECT_DUPLICATES, NULL)) == NULL)
        return MAMORI_ERR_PROTO;
    const char *dev = json_string_value(json_object_get(j, "device"));
    const char *b64 = json_string_value(json_object_get(j, "signed"));
    if (dev == NULL || b64 == NULL ||
        sodium_base642bin(rec, sizeof(rec), b64, strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        goto out;
    if ((r = paycard_pinned_key(reg, dev, pub)) != 0 || (r = emrec_verify(rec, n, pub, sizeof(pub), &e)) != 0)
        goto out;
    snprintf(want, sizeof(want), "E%llu", (unsigned long long)e.seq);
    /* the row must say what the device signed */
    if (strcmp(e.serial, dev) != 0 || amount <= 0 || e.amount != (uint64_t)amount || strcmp(want, host_txn) != 0) {
        r = MAMORI_ERR_AUTH;
        goto out;
    }
    if (ret != NULL)
        *ret = e;
    r = 0;
out:
    json_decref(j);
    return r;
}
