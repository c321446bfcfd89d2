/*
 * msg.c: bus message envelope and strict CBOR handling. Owns the pre-scan that
 * enforces the limits before libcbor allocates anything (libcbor itself would
 * accept indefinite items, tags and duplicate keys), the canonical encoder and
 * the body helpers. Does not own any message type's meaning.
 */
#include "bus/msg.h"

#include <stdlib.h>
#include <string.h>

#include "common/cborsafe.h"
#include "mamori/err.h"

/* ---------- pre-scan ---------- */

struct scan {
    struct buf b;
    size_t items;
};

static int head(struct scan *s, uint8_t *ret_major, uint8_t *ret_ai, uint64_t *ret_val)
{
    uint8_t ib, v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v = 0;
    int r;
    if ((r = buf_get_u8(&s->b, &ib)) != 0)
        return MAMORI_ERR_INVAL;
    *ret_major = ib >> 5;
    *ret_ai = ib & 0x1f;
    if (*ret_ai < 24)
        v = *ret_ai;
    else if (*ret_ai == 24)
        r = buf_get_u8(&s->b, &v8), v = v8;
    else if (*ret_ai == 25)
        r = buf_get_u16(&s->b, &v16), v = v16;
    else if (*ret_ai == 26)
        r = buf_get_u32(&s->b, &v32), v = v32;
    else if (*ret_ai == 27)
        r = buf_get_u64(&s->b, &v);
    else
        return MAMORI_ERR_INVAL; /* 28..30 reserved, 31 indefinite: refused */
    if (r != 0)
        return MAMORI_ERR_INVAL;
    /* Canonical: the shortest head (floats excepted, their width is their type). */
    if (*ret_major != 7 && ((*ret_ai == 24 && v < 24) || (*ret_ai == 25 && v <= 0xff) ||
                            (*ret_ai == 26 && v <= 0xffff) || (*ret_ai == 27 && v <= 0xffffffffu)))
        return MAMORI_ERR_INVAL;
    *ret_val = v;
    return 0;
}

static int scan_item(struct scan *s, int depth, const uint8_t **ret_str, size_t *ret_strlen,
                     uint8_t *ret_major);

static int scan_item(struct scan *s, int depth, const uint8_t **ret_str, size_t *ret_strlen,
                     uint8_t *ret_major)
{
    uint8_t major, ai;
    uint64_t val;
    const uint8_t *p;
    int r;
    if (++s->items > MSG_MAX_ITEMS)
        return MAMORI_ERR_TOOBIG;
    if ((r = head(s, &major, &ai, &val)) != 0)
        return r;
    if (ret_major)
        *ret_major = major;
    switch (major) {
    case 0:
    case 1:
        return 0;
    case 2:
    case 3:
        if (val > MSG_MAX_STRING)
            return MAMORI_ERR_TOOBIG;
        if (buf_get_ptr(&s->b, (size_t)val, &p) != 0)
            return MAMORI_ERR_INVAL;
        if (ret_str) {
            *ret_str = p;
            *ret_strlen = (size_t)val;
        }
        return 0;
    case 4:
        if (depth >= MSG_MAX_DEPTH)
            return MAMORI_ERR_TOOBIG;
        if (val > MSG_MAX_ITEMS)
            return MAMORI_ERR_TOOBIG;
        for (uint64_t i = 0; i < val; i++)
            if ((r = scan_item(s, depth + 1, NULL, NULL, NULL)) != 0)
                return r;
        return 0;
    case 5: {
        const uint8_t *keys[MSG_MAX_MAP];
        size_t klen[MSG_MAX_MAP];
        if (depth >= MSG_MAX_DEPTH)
            return MAMORI_ERR_TOOBIG;
        if (val > MSG_MAX_MAP)
            return MAMORI_ERR_TOOBIG;
        for (uint64_t i = 0; i < val; i++) {
            uint8_t km;
            const uint8_t *kp = buf_ptr(&s->b);
            size_t kn, before = buf_remaining(&s->b);
            if ((r = scan_item(s, depth + 1, NULL, NULL, &km)) != 0)
                return r;
            if (km != 3 && km != 0 && km != 1)
                return MAMORI_ERR_INVAL; /* keys are text strings or integers */
            /* compare whole encoded keys: with canonical heads, equal bytes = equal keys */
            kn = before - buf_remaining(&s->b);
            for (uint64_t j = 0; j < i; j++)
                if (klen[j] == kn && memcmp(keys[j], kp, kn) == 0)
                    return MAMORI_ERR_INVAL; /* duplicate key */
            keys[i] = kp;
            klen[i] = kn;
            if ((r = scan_item(s, depth + 1, NULL, NULL, NULL)) != 0)
                return r;
        }
        return 0;
    }
    case 6:
        return MAMORI_ERR_INVAL; /* no tags on the bus */
    default:                     /* 7 */
        if (ai == 20 || ai == 21 || ai == 22)
            return 0;
        if (ai >= 25 && ai <= 27)
            return 0; /* half, single, double float */
        return MAMORI_ERR_INVAL;
    }
}

int msg_cbor_check(const uint8_t *p, size_t n)
{
    struct scan s;
    int r;
    if (p == NULL || n == 0)
        return MAMORI_ERR_INVAL;
    if (n > MSG_MAX_BYTES)
        return MAMORI_ERR_TOOBIG;
    memset(&s, 0, sizeof(s));
    buf_view(&s.b, p, n);
    if ((r = scan_item(&s, 0, NULL, NULL, NULL)) != 0)
        return r;
    return buf_end(&s.b);
}

int msg_cbor_parse(const uint8_t *p, size_t n, cbor_item_t **ret)
{
    struct cbor_load_result res;
    cbor_item_t *it;
    int r;
    if ((r = msg_cbor_check(p, n)) != 0)
        return r;
    it = cbor_load(p, n, &res);
    if (it == NULL)
        return res.error.code == CBOR_ERR_MEMERROR ? MAMORI_ERR_NOMEM : MAMORI_ERR_INVAL;
    if (res.read != n) {
        cbor_decref(&it);
        return MAMORI_ERR_TRAILING;
    }
    *ret = it;
    return 0;
}

/* ---------- canonical encoder ---------- */

static int put_head(struct buf *out, uint8_t major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    int r;
    if (v < 24)
        return buf_put_u8(out, m | (uint8_t)v);
    if (v <= 0xff)
        return (r = buf_put_u8(out, m | 24)) ? r : buf_put_u8(out, (uint8_t)v);
    if (v <= 0xffff)
        return (r = buf_put_u8(out, m | 25)) ? r : buf_put_u16(out, (uint16_t)v);
    if (v <= 0xffffffffu)
        return (r = buf_put_u8(out, m | 26)) ? r : buf_put_u32(out, (uint32_t)v);
    return (r = buf_put_u8(out, m | 27)) ? r : buf_put_u64(out, v);
}

static int write_item(const cbor_item_t *it, struct buf *out, int depth)
{
    int r;
    if (depth > MSG_MAX_DEPTH)
        return MAMORI_ERR_TOOBIG;
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
        return put_head(out, 0, cbor_get_int(it));
    case CBOR_TYPE_NEGINT:
        return put_head(out, 1, cbor_get_int(it));
    case CBOR_TYPE_BYTESTRING:
    case CBOR_TYPE_STRING: {
        uint8_t major = cbor_typeof(it) == CBOR_TYPE_STRING ? 3 : 2;
        bool bytes = major == 2;
        if (bytes ? cbor_bytestring_is_definite(it) : cbor_string_is_definite(it)) {
            size_t n = bytes ? cbor_bytestring_length(it) : cbor_string_length(it);
            const unsigned char *h = bytes ? cbor_bytestring_handle(it) : cbor_string_handle(it);
            if ((r = put_head(out, major, n)) != 0)
                return r;
            return n ? buf_put_bytes(out, h, n) : 0;
        } else {
            /* chunked (built by a caller): write the concatenation */
            size_t nc = bytes ? cbor_bytestring_chunk_count(it) : cbor_string_chunk_count(it);
            cbor_item_t **ch =
                bytes ? cbor_bytestring_chunks_handle(it) : cbor_string_chunks_handle(it);
            size_t total = 0;
            for (size_t i = 0; i < nc; i++) {
                size_t l = bytes ? cbor_bytestring_length(ch[i]) : cbor_string_length(ch[i]);
                if (total + l < total)
                    return MAMORI_ERR_TOOBIG;
                total += l;
            }
            if ((r = put_head(out, major, total)) != 0)
                return r;
            for (size_t i = 0; i < nc; i++) {
                size_t l = bytes ? cbor_bytestring_length(ch[i]) : cbor_string_length(ch[i]);
                const unsigned char *h =
                    bytes ? cbor_bytestring_handle(ch[i]) : cbor_string_handle(ch[i]);
                if (l && (r = buf_put_bytes(out, h, l)) != 0)
                    return r;
            }
            return 0;
        }
    }
    case CBOR_TYPE_ARRAY: {
        size_t n = cbor_array_size(it);
        cbor_item_t **h = cbor_array_handle(it);
        if ((r = put_head(out, 4, n)) != 0)
            return r;
        for (size_t i = 0; i < n; i++)
            if ((r = write_item(h[i], out, depth + 1)) != 0)
                return r;
        return 0;
    }
    case CBOR_TYPE_MAP: {
        size_t n = cbor_map_size(it);
        struct cbor_pair *h = cbor_map_handle(it);
        if ((r = put_head(out, 5, n)) != 0)
            return r;
        for (size_t i = 0; i < n; i++)
            if ((r = write_item(h[i].key, out, depth + 1)) != 0 ||
                (r = write_item(h[i].value, out, depth + 1)) != 0)
                return r;
        return 0;
    }
    case CBOR_TYPE_FLOAT_CTRL:
        if (cbor_float_ctrl_is_ctrl(it)) {
            uint8_t c = cbor_ctrl_value(it);
            if (c == CBOR_CTRL_FALSE || c == CBOR_CTRL_TRUE || c == CBOR_CTRL_NULL)
                return buf_put_u8(out, (uint8_t)(0xe0 | c));
            return MAMORI_ERR_INVAL;
        } else {
            union {
                double d;
                uint64_t u;
            } v;
            v.d = cbor_float_get_float(it);
            return (r = buf_put_u8(out, 0xfb)) ? r : buf_put_u64(out, v.u);
        }
    default:
        return MAMORI_ERR_INVAL; /* tags */
    }
}

int msg_cbor_write(const cbor_item_t *item, struct buf *out)
{
    return write_item(item, out, 0);
}

/* ---------- envelope ---------- */

bool msg_type_valid(const char *type)
{
    size_t n = strlen(type);
    if (n == 0 || n > MSG_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool key_is(const cbor_item_t *k, const char *s)
{
    size_t n = strlen(s);
    return cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == n &&
           memcmp(cbor_string_handle(k), s, n) == 0;
}

int msg_encode(const struct msg *m, struct buf *out)
{
    size_t start = out->len;
    int r;
    size_t n = 2 + (m->has_ref ? 1 : 0) + (m->body ? 1 : 0);
    if (!msg_type_valid(m->type))
        return MAMORI_ERR_INVAL;
    if (m->body != NULL && !cbor_isa_map(m->body))
        return MAMORI_ERR_INVAL;
    r = put_head(out, 5, n);
    r = r ? r : put_head(out, 3, 1);
    r = r ? r : buf_put_u8(out, 't');
    r = r ? r : put_head(out, 3, strlen(m->type));
    r = r ? r : buf_put_bytes(out, m->type, strlen(m->type));
    r = r ? r : put_head(out, 3, 2);
    r = r ? r : buf_put_bytes(out, "id", 2);
    r = r ? r : put_head(out, 0, m->id);
    if (m->has_ref) {
        r = r ? r : put_head(out, 3, 3);
        r = r ? r : buf_put_bytes(out, "ref", 3);
        r = r ? r : put_head(out, 0, m->ref);
    }
    if (m->body) {
        r = r ? r : put_head(out, 3, 1);
        r = r ? r : buf_put_u8(out, 'b');
        r = r ? r : write_item(m->body, out, 1);
    }
    if (r == 0 && out->len - start > MSG_MAX_BYTES)
        r = MAMORI_ERR_TOOBIG;
    if (r != 0)
        out->len = start; /* leave out as it was */
    return r;
}

int msg_decode(const uint8_t *p, size_t n, struct msg *ret)
{
    cbor_item_t *root = NULL;
    struct msg m;
    struct cbor_pair *pairs;
    bool have_t = false, have_id = false;
    int r;
    memset(&m, 0, sizeof(m));
    if ((r = msg_cbor_parse(p, n, &root)) != 0)
        return r;
    if (!cbor_isa_map(root)) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    pairs = cbor_map_handle(root);
    for (size_t i = 0; i < cbor_map_size(root); i++) {
        cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
        if (key_is(k, "t")) {
            size_t l;
            if (!cbor_isa_string(v) || (l = cbor_string_length(v)) == 0 || l > MSG_TYPE_MAX ||
                memchr(cbor_string_handle(v), 0, l) != NULL) {
                r = MAMORI_ERR_INVAL;
                goto out;
            }
            memcpy(m.type, cbor_string_handle(v), l);
            m.type[l] = '\0';
            if (!msg_type_valid(m.type)) {
                r = MAMORI_ERR_INVAL;
                goto out;
            }
            have_t = true;
        } else if (key_is(k, "id")) {
            if (!cbor_isa_uint(v)) {
                r = MAMORI_ERR_INVAL;
                goto out;
            }
            m.id = cbor_get_int(v);
            have_id = true;
        } else if (key_is(k, "ref")) {
            if (!cbor_isa_uint(v)) {
                r = MAMORI_ERR_INVAL;
                goto out;
            }
            m.ref = cbor_get_int(v);
            m.has_ref = true;
        } else if (key_is(k, "b")) {
            if (!cbor_isa_map(v)) {
                r = MAMORI_ERR_INVAL;
                goto out;
            }
            m.body = cbor_incref(v);
        } else {
            r = MAMORI_ERR_INVAL; /* unknown envelope key */
            goto out;
        }
    }
    if (!have_t || !have_id) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    *ret = m;
    m.body = NULL;
    r = 0;
out:
    if (m.body)
        cbor_decref(&m.body);
    cbor_decref(&root);
    return r;
}

void msg_clear(struct msg *m)
{
    if (m == NULL)
        return;
    if (m->body)
        cbor_decref(&m->body);
    memset(m, 0, sizeof(*m));
}

/* ---------- body helpers ---------- */

cbor_item_t *msg_body_new(void)
{
    return cbor_new_indefinite_map();
}

cbor_item_t *msg_item_int(int64_t v)
{
    uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-(v + 1));
    cbor_item_t *it;
    if (u <= 0xff)
        it = cbor_build_uint8((uint8_t)u);
    else if (u <= 0xffff)
        it = cbor_build_uint16((uint16_t)u);
    else if (u <= 0xffffffffu)
        it = cbor_build_uint32((uint32_t)u);
    else
        it = cbor_build_uint64(u);
    if (it != NULL && v < 0)
        cbor_mark_negint(it);
    return it;
}

int msg_put_item(cbor_item_t *map, const char *key, cbor_item_t *v)
{
    cbor_item_t *k;
    bool ok;
    if (v == NULL)
        return MAMORI_ERR_NOMEM;
    if (map == NULL || !cbor_isa_map(map)) {
        cbor_decref(&v);
        return MAMORI_ERR_INVAL;
    }
    k = cbor_build_string(key);
    if (k == NULL) {
        cbor_decref(&v);
        return MAMORI_ERR_NOMEM;
    }
    ok = cbor_map_add(map, (struct cbor_pair){.key = k, .value = v});
    cbor_decref(&k);
    cbor_decref(&v);
    return ok ? 0 : MAMORI_ERR_NOMEM;
}

int msg_put_str(cbor_item_t *map, const char *key, const char *v)
{
    return msg_put_item(map, key, cbor_build_string(v));
}

int msg_put_int(cbor_item_t *map, const char *key, int64_t v)
{
    return msg_put_item(map, key, msg_item_int(v));
}

int msg_put_bytes(cbor_item_t *map, const char *key, const uint8_t *p, size_t n)
{
    return msg_put_item(map, key, cbor_build_bytestring(p, n));
}

int msg_put_bool(cbor_item_t *map, const char *key, bool v)
{
    return msg_put_item(map, key, cbor_build_bool(v));
}

const cbor_item_t *msg_get(const cbor_item_t *map, const char *key)
{
    struct cbor_pair *h;
    if (map == NULL || !cbor_isa_map(map))
        return NULL;
    h = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++)
        if (key_is(h[i].key, key))
            return h[i].value;
    return NULL;
}

int msg_get_str(const cbor_item_t *map, const char *key, char *out, size_t cap)
{
    const cbor_item_t *v = msg_get(map, key);
    size_t n;
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
        return MAMORI_ERR_INVAL;
    n = cbor_string_length(v);
    if (n >= cap || memchr(cbor_string_handle(v), 0, n) != NULL)
        return MAMORI_ERR_TOOBIG;
    memcpy(out, cbor_string_handle(v), n);
    out[n] = '\0';
    return 0;
}

int msg_get_int(const cbor_item_t *map, const char *key, int64_t *ret)
{
    const cbor_item_t *v = msg_get(map, key);
    uint64_t u;
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (!cbor_isa_uint(v) && !cbor_isa_negint(v))
        return MAMORI_ERR_INVAL;
    u = cbor_get_int(v);
    if (u > (uint64_t)INT64_MAX)
        return MAMORI_ERR_TOOBIG;
    *ret = cbor_isa_uint(v) ? (int64_t)u : -(int64_t)u - 1;
    return 0;
}

int msg_get_bytes(const cbor_item_t *map, const char *key, const uint8_t **ret_p, size_t *ret_n)
{
    const cbor_item_t *v = msg_get(map, key);
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
        return MAMORI_ERR_INVAL;
    *ret_p = cbor_bytestring_handle(v);
    *ret_n = cbor_bytestring_length(v);
    return 0;
}

int msg_get_bool(const cbor_item_t *map, const char *key, bool *ret)
{
    const cbor_item_t *v = msg_get(map, key);
    if (v == NULL)
        return MAMORI_ERR_NOTFOUND;
    return cborsafe_get_bool(v, ret);
}

int msg_make_error(struct msg *m, uint64_t id, uint64_t ref, int code, const char *text)
{
    cbor_item_t *b = msg_body_new();
    int r;
    if (b == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = msg_put_int(b, "code", code)) || (r = msg_put_str(b, "msg", text))) {
        cbor_decref(&b);
        return r;
    }
    memset(m, 0, sizeof(*m));
    strcpy(m->type, "error");
    m->id = id;
    m->ref = ref;
    m->has_ref = true;
    m->body = b;
    return 0;
}
