/*
 * request.c: owns parsing and validation of payment host request bodies
 * (format in request.h). JSON syntax is jansson's; everything after that
 * (keys, types, ranges, hex lengths, per-type required fields) is checked
 * here. Owns no keys and no state.
 */
#include "payhost/request.h"

#include <jansson.h>
#include <string.h>

#include "common/hex.h"
#include "mamori/err.h"

const char *payhost_type_name(enum payhost_type t)
{
    switch (t) {
    case PAYHOST_SALE: return "sale";
    case PAYHOST_REFUND: return "refund";
    case PAYHOST_VOID: return "void";
    default: return "?";
    }
}

const char *payhost_method_name(enum payhost_method m)
{
    switch (m) {
    case PAYHOST_LUMP: return "lump";
    case PAYHOST_INSTALLMENTS: return "installments";
    case PAYHOST_REVOLVING: return "revolving";
    case PAYHOST_BONUS: return "bonus";
    default: return "?";
    }
}

/* Every key of o must be in allowed (NULL-terminated). */
static bool keys_allowed(json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        if (!ok)
            return false;
    }
    return true;
}

/* Exact-length hex field (n bytes) into out. */
static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n_min, size_t n_max, size_t *ret_n)
{
    const char *s = json_string_value(json_object_get(o, key));
    size_t n = 0;
    if (s == NULL || strlen(s) < 2 * n_min || strlen(s) > 2 * n_max)
        return MAMORI_ERR_INVAL;
    if (hex_decode(out, n_max, s, &n) != 0 || n < n_min || n > n_max)
        return MAMORI_ERR_INVAL;
    if (ret_n != NULL)
        *ret_n = n;
    return 0;
}

/* An identifier: 1..PAYHOST_ID_MAX of [A-Za-z0-9_-]. */
static int get_id(json_t *o, const char *key, char *out, size_t max)
{
    const char *s = json_string_value(json_object_get(o, key));
    size_t n;
    if (s == NULL || (n = strlen(s)) == 0 || n > max)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == '-'))
            return MAMORI_ERR_INVAL;
    }
    memcpy(out, s, n + 1);
    return 0;
}

static int parse_card(json_t *c, struct cardcrypt_record *rec)
{
    static const char *const allowed[] = {"ksn", "ct", "mac", NULL};
    size_t n;
    int r;
    if (!json_is_object(c) || !keys_allowed(c, allowed))
        return MAMORI_ERR_INVAL;
    if ((r = get_hex(c, "ksn", rec->ksn, DUKPT_AES_KSN_LEN, DUKPT_AES_KSN_LEN, NULL)) != 0 ||
        (r = get_hex(c, "ct", rec->ct, 16, CARDCRYPT_CT_MAX, &n)) != 0 ||
        (r = get_hex(c, "mac", rec->mac, CARDCRYPT_MAC_LEN, CARDCRYPT_MAC_LEN, NULL)) != 0)
        return r;
    if (n % 16 != 0)
        return MAMORI_ERR_INVAL;
    rec->ct_len = n;
    return 0;
}

static int parse_pin(json_t *p, struct cardcrypt_pin *pin)
{
    static const char *const allowed[] = {"ksn", "block", NULL};
    int r;
    if (!json_is_object(p) || !keys_allowed(p, allowed))
        return MAMORI_ERR_INVAL;
    if ((r = get_hex(p, "ksn", pin->ksn, DUKPT_AES_KSN_LEN, DUKPT_AES_KSN_LEN, NULL)) != 0 ||
        (r = get_hex(p, "block", pin->block, PINBLOCK_ISO4_LEN, PINBLOCK_ISO4_LEN, NULL)) != 0)
        return r;
    return 0;
}

static int parse_method(json_t *m, struct payhost_request *q)
{
    static const char *const allowed[] = {"kind", "count", NULL};
    const char *kind;
    json_t *count;
    if (m == NULL) {
        q->method = PAYHOST_LUMP;
        return 0;
    }
    if (!json_is_object(m) || !keys_allowed(m, allowed) || (kind = json_string_value(json_object_get(m, "kind"))) == NULL)
        return MAMORI_ERR_INVAL;
    count = json_object_get(m, "count");
    if (strcmp(kind, "lump") == 0)
        q->method = PAYHOST_LUMP;
    else if (strcmp(kind, "installments") == 0)
        q->method = PAYHOST_INSTALLMENTS;
    else if (strcmp(kind, "revolving") == 0)
        q->method = PAYHOST_REVOLVING;
    else if (strcmp(kind, "bonus") == 0)
        q->method = PAYHOST_BONUS;
    else
        return MAMORI_ERR_INVAL;
    if (q->method == PAYHOST_INSTALLMENTS) {
        json_int_t n;
        if (!json_is_integer(count) || (n = json_integer_value(count)) < PAYHOST_INSTALLMENTS_MIN ||
            n > PAYHOST_INSTALLMENTS_MAX)
            return MAMORI_ERR_INVAL;
        q->installments = (int)n;
    } else if (count != NULL) {
        return MAMORI_ERR_INVAL; /* a count only makes sense for installments */
    }
    return 0;
}

int payhost_request_parse(const char *body, size_t len, struct payhost_request *ret)
{
    static const char *const allowed[] = {"type", "amount", "method", "card", "pin", "signature",
                                          "token", "original_txn", "terminal", NULL};
    struct payhost_request q;
    json_error_t jerr;
    json_t *o = NULL, *v;
    const char *type;
    int r = MAMORI_ERR_INVAL;
    if (body == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (len > PAYHOST_BODY_MAX)
        return MAMORI_ERR_TOOBIG;
    memset(&q, 0, sizeof(q));
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o) || !keys_allowed(o, allowed))
        goto out;
    if ((type = json_string_value(json_object_get(o, "type"))) == NULL)
        goto out;
    if (strcmp(type, "sale") == 0)
        q.type = PAYHOST_SALE;
    else if (strcmp(type, "refund") == 0)
        q.type = PAYHOST_REFUND;
    else if (strcmp(type, "void") == 0)
        q.type = PAYHOST_VOID;
    else
        goto out;
    if (get_id(o, "terminal", q.terminal, PAYHOST_ID_MAX) != 0)
        goto out;
    v = json_object_get(o, "amount");
    if (q.type == PAYHOST_VOID) {
        if (v != NULL)
            goto out;
    } else if (!json_is_integer(v) || (q.amount = json_integer_value(v)) < 1 || q.amount > PAYHOST_AMOUNT_MAX) {
        goto out;
    }
    if (parse_method(json_object_get(o, "method"), &q) != 0)
        goto out;
    if ((v = json_object_get(o, "card")) != NULL) {
        if (parse_card(v, &q.card) != 0)
            goto out;
        q.has_card = true;
    }
    if ((v = json_object_get(o, "pin")) != NULL) {
        if (parse_pin(v, &q.pin) != 0)
            goto out;
        q.has_pin = true;
    }
    if ((v = json_object_get(o, "signature")) != NULL) {
        if (!json_is_boolean(v))
            goto out;
        q.signature = json_is_true(v);
    }
    if ((v = json_object_get(o, "token")) != NULL) {
        const char *t = json_string_value(v);
        uint8_t tmp[PAYHOST_TOKEN_HEX / 2];
        size_t n;
        if (t == NULL || strlen(t) != PAYHOST_TOKEN_HEX || hex_decode(tmp, sizeof(tmp), t, &n) != 0)
            goto out;
        memcpy(q.token, t, PAYHOST_TOKEN_HEX + 1);
    }
    if (json_object_get(o, "original_txn") != NULL &&
        get_id(o, "original_txn", q.original_txn, PAYHOST_ID_MAX) != 0)
        goto out;
    /* Per-type requirements. */
    switch (q.type) {
    case PAYHOST_SALE:
        if (!q.has_card || q.token[0] || q.original_txn[0])
            goto out;
        break;
    case PAYHOST_REFUND:
        /* by token (no card data at all) or with the card present */
        if (!q.original_txn[0] || q.has_pin || (!q.has_card && !q.token[0]) || q.method != PAYHOST_LUMP)
            goto out;
        break;
    case PAYHOST_VOID:
        if (!q.original_txn[0] || q.has_card || q.has_pin || q.method != PAYHOST_LUMP)
            goto out;
        break;
    }
    *ret = q;
    r = 0;
out:
    json_decref(o);
    memset(&q, 0, sizeof(q));
    return r;
}
