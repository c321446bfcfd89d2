/*
 * msgjson.c: conversion between CBOR bodies and JSON for local tooling. Owns
 * the "hex:" convention for byte strings; nothing on the bus depends on it.
 */
#include "bus/msgjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/msg.h"
#include "common/hex.h"
#include "common/cborsafe.h"
#include "mamori/err.h"

static json_t *from(const cbor_item_t *it, int depth)
{
    json_t *j;
    if (depth > MSG_MAX_DEPTH)
        return NULL;
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
        return json_integer((json_int_t)cbor_get_int(it));
    case CBOR_TYPE_NEGINT:
        return json_integer(-(json_int_t)cbor_get_int(it) - 1);
    case CBOR_TYPE_STRING:
        if (!cbor_string_is_definite(it))
            return NULL;
        return json_stringn((const char *)cbor_string_handle(it), cbor_string_length(it));
    case CBOR_TYPE_BYTESTRING: {
        size_t n;
        char *h;
        if (!cbor_bytestring_is_definite(it))
            return NULL;
        n = cbor_bytestring_length(it);
        h = malloc(2 * n + 5);
        if (h == NULL)
            return NULL;
        memcpy(h, "hex:", 4);
        (void)hex_encode(h + 4, 2 * n + 1, cbor_bytestring_handle(it), n);
        j = json_string(h);
        free(h);
        return j;
    }
    case CBOR_TYPE_ARRAY:
        j = json_array();
        for (size_t i = 0; j && i < cbor_array_size(it); i++) {
            json_t *v = from(cbor_array_handle(it)[i], depth + 1);
            if (v == NULL || json_array_append_new(j, v) != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case CBOR_TYPE_MAP:
        j = json_object();
        for (size_t i = 0; j && i < cbor_map_size(it); i++) {
            struct cbor_pair p = cbor_map_handle(it)[i];
            char key[256];
            size_t kn;
            json_t *v;
            if (cbor_isa_uint(p.key) || cbor_isa_negint(p.key)) {
                /* integer keys (e.g. denominations) become decimal strings */
                uint64_t u = cbor_get_int(p.key);
                if (cbor_isa_uint(p.key))
                    snprintf(key, sizeof(key), "%llu", (unsigned long long)u);
                else
                    snprintf(key, sizeof(key), "-%llu", (unsigned long long)u + 1);
            } else if (!cbor_isa_string(p.key) || (kn = cbor_string_length(p.key)) >= sizeof(key)) {
                json_decref(j);
                return NULL;
            } else {
                memcpy(key, cbor_string_handle(p.key), kn);
                key[kn] = '\0';
            }
            v = from(p.value, depth + 1);
            if (v == NULL || json_object_set_new(j, key, v) != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case CBOR_TYPE_FLOAT_CTRL:
        if (cbor_float_ctrl_is_ctrl(it)) {
            bool b;
            if (cborsafe_get_bool(it, &b) == 0)
                return json_boolean(b);
            return json_null();
        }
        return json_real(cbor_float_get_float(it));
    default:
        return NULL;
    }
}

json_t *msgjson_from_cbor(const cbor_item_t *item)
{
    return item == NULL ? json_null() : from(item, 0);
}

static int to(const json_t *j, cbor_item_t **ret, int depth)
{
    cbor_item_t *it = NULL;
    int r;
    if (depth > MSG_MAX_DEPTH)
        return MAMORI_ERR_INVAL;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        it = msg_body_new();
        if (it == NULL)
            return MAMORI_ERR_NOMEM;
        json_object_foreach((json_t *)(uintptr_t)j, k, v)
        {
            cbor_item_t *cv;
            if ((r = to(v, &cv, depth + 1)) != 0 || (r = msg_put_item(it, k, cv)) != 0) {
                cbor_decref(&it);
                return r;
            }
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        it = cbor_new_indefinite_array();
        if (it == NULL)
            return MAMORI_ERR_NOMEM;
        json_array_foreach(j, i, v)
        {
            cbor_item_t *cv;
            bool ok;
            if ((r = to(v, &cv, depth + 1)) != 0) {
                cbor_decref(&it);
                return r;
            }
            ok = cbor_array_push(it, cv);
            cbor_decref(&cv);
            if (!ok) {
                cbor_decref(&it);
                return MAMORI_ERR_NOMEM;
            }
        }
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        if (n >= 4 && strncmp(s, "hex:", 4) == 0) {
            uint8_t *b = malloc(n / 2 + 1);
            size_t bn;
            if (b == NULL)
                return MAMORI_ERR_NOMEM;
            if ((r = hex_decode(b, n / 2 + 1, s + 4, &bn)) != 0) {
                free(b);
                return MAMORI_ERR_INVAL;
            }
            it = cbor_build_bytestring(b, bn);
            free(b);
        } else {
            it = cbor_build_stringn(s, n);
        }
        break;
    }
    case JSON_INTEGER:
        it = msg_item_int(json_integer_value(j));
        break;
    case JSON_REAL:
        it = cbor_build_float8(json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        it = cbor_build_bool(json_is_true(j));
        break;
    case JSON_NULL:
        it = cbor_new_null();
        break;
    }
    if (it == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = it;
    return 0;
}

int msgjson_to_cbor(const json_t *j, cbor_item_t **ret)
{
    return to(j, ret, 0);
}
