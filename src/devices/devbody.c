/*
 * devbody.c: typed, limited access to CBOR message bodies for device
 * firmware. Owns the rules for what a well-formed body is (devbody.h); does
 * not own message types or their meaning (each class file does).
 */
#include "devices/devbody.h"

#include <string.h>

#include "common/cborsafe.h"
#include "mamori/err.h"

static bool key_is(const cbor_item_t *k, const char *key, size_t keylen)
{
    return cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == keylen &&
           memcmp(cbor_string_handle(k), key, keylen) == 0;
}

int devbody_check(const cbor_item_t *body)
{
    if (body == NULL)
        return 0;
    if (!cbor_isa_map(body) || !cbor_map_is_definite(body))
        return MAMORI_ERR_INVAL;
    size_t n = cbor_map_size(body);
    if (n > DEVBODY_MAX_KEYS)
        return MAMORI_ERR_TOOBIG;
    struct cbor_pair *p = cbor_map_handle(body);
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *k = p[i].key;
        if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
            return MAMORI_ERR_INVAL;
        size_t kl = cbor_string_length(k);
        if (kl == 0 || kl > DEVBODY_KEY_MAX)
            return MAMORI_ERR_INVAL;
        for (size_t j = 0; j < i; j++)
            if (key_is(p[j].key, (const char *)cbor_string_handle(k), kl))
                return MAMORI_ERR_INVAL; /* duplicate key: which one would win is ambiguous */
    }
    return 0;
}

const cbor_item_t *devbody_find(const cbor_item_t *map, const char *key)
{
    if (map == NULL || !cbor_isa_map(map) || !cbor_map_is_definite(map))
        return NULL;
    size_t kl = strlen(key);
    size_t n = cbor_map_size(map);
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < n; i++)
        if (key_is(p[i].key, key, kl))
            return p[i].value;
    return NULL;
}

int devbody_int_value(const cbor_item_t *v, int64_t *ret)
{
    if (v == NULL)
        return MAMORI_ERR_INVAL;
    if (cbor_isa_uint(v)) {
        uint64_t u = cbor_get_int(v);
        if (u > (uint64_t)INT64_MAX)
            return MAMORI_ERR_INVAL;
        *ret = (int64_t)u;
        return 0;
    }
    if (cbor_isa_negint(v)) {
        uint64_t u = cbor_get_int(v); /* value is -1 - u */
        if (u > (uint64_t)INT64_MAX)
            return MAMORI_ERR_INVAL;
        *ret = -1 - (int64_t)u;
        return 0;
    }
    return MAMORI_ERR_INVAL;
}

int devbody_get_int(const cbor_item_t *map, const char *key, int64_t min, int64_t max,
                    int64_t *ret)
{
    const cbor_item_t *v = devbody_find(map, key);
    int64_t x;
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (devbody_int_value(v, &x) || x < min || x > max)
        return MAMORI_ERR_INVAL;
    *ret = x;
    return 0;
}

int devbody_get_str(const cbor_item_t *map, const char *key, char *out, size_t cap)
{
    const cbor_item_t *v = devbody_find(map, key);
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
        return MAMORI_ERR_INVAL;
    size_t n = cbor_string_length(v);
    const unsigned char *s = cbor_string_handle(v);
    if (n >= cap)
        return MAMORI_ERR_TOOBIG;
    if (n > 0 && memchr(s, 0, n) != NULL)
        return MAMORI_ERR_INVAL;
    if (n > 0)
        memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int devbody_get_bytes(const cbor_item_t *map, const char *key, size_t max,
                      const uint8_t **ret_p, size_t *ret_n)
{
    const cbor_item_t *v = devbody_find(map, key);
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
        return MAMORI_ERR_INVAL;
    size_t n = cbor_bytestring_length(v);
    if (n > max)
        return MAMORI_ERR_TOOBIG;
    *ret_p = cbor_bytestring_handle(v);
    *ret_n = n;
    return 0;
}

int devbody_get_bool(const cbor_item_t *map, const char *key, bool *ret)
{
    const cbor_item_t *v = devbody_find(map, key);
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    return cborsafe_get_bool(v, ret);
}

cbor_item_t *devbody_new(void)
{
    /* libcbor's definite maps do not grow; room for the most keys a body may
     * have. Only the keys added are serialised. */
    return cbor_new_definite_map(DEVBODY_MAX_KEYS);
}

cbor_item_t *devbody_int(int64_t v)
{
    if (v >= 0)
        return cbor_build_uint64((uint64_t)v);
    return cbor_build_negint64((uint64_t)(-1 - v));
}

int devbody_put_item(cbor_item_t *map, const char *key, cbor_item_t *v)
{
    cbor_item_t *k = cbor_build_string(key);
    int r = MAMORI_ERR_NOMEM;
    if (k == NULL || v == NULL || map == NULL)
        goto out;
    if (!cbor_map_add(map, (struct cbor_pair){.key = k, .value = v}))
        goto out;
    r = 0;
out:
    if (k != NULL)
        cbor_decref(&k);
    if (v != NULL)
        cbor_decref(&v);
    return r;
}

int devbody_put_int(cbor_item_t *map, const char *key, int64_t v)
{
    return devbody_put_item(map, key, devbody_int(v));
}

int devbody_put_str(cbor_item_t *map, const char *key, const char *s)
{
    return devbody_put_item(map, key, cbor_build_string(s));
}

int devbody_put_bytes(cbor_item_t *map, const char *key, const void *p, size_t n)
{
    return devbody_put_item(map, key, cbor_build_bytestring(n ? p : (const void *)"", n));
}

int devbody_put_bool(cbor_item_t *map, const char *key, bool v)
{
    return devbody_put_item(map, key, cbor_build_bool(v));
}

int devbody_empty_reply(cbor_item_t **ret_reply)
{
    cbor_item_t *m = cbor_new_definite_map(0);
    if (m == NULL)
        return MAMORI_ERR_NOMEM;
    *ret_reply = m;
    return 0;
}
