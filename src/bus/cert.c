/*
 * cert.c: manufacturer certificates. Owns the canonical encoding, strict
 * parsing and the signature check; must not own trust policy (which CA keys
 * are trusted, what a registry pins): callers pass the trusted CA key.
 */
#include "bus/cert.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cbor.h>

#include "bus/msg.h"
#include "mamori/err.h"

static bool text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CERT_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

int cert_tbs(const struct cert *c, struct buf *out)
{
    cbor_item_t *m;
    int r;
    if (!text_ok(c->model) || !text_ok(c->serial))
        return MAMORI_ERR_INVAL;
    m = msg_body_new();
    if (m == NULL)
        return MAMORI_ERR_NOMEM;
    r = msg_put_int(m, "v", 1);
    r = r ? r : msg_put_str(m, "model", c->model);
    r = r ? r : msg_put_str(m, "serial", c->serial);
    r = r ? r : msg_put_bytes(m, "bus_pub", c->bus_pub, CERT_KEY_LEN);
    r = r ? r : msg_put_bytes(m, "log_pub", c->log_pub, CERT_KEY_LEN);
    r = r ? r : msg_put_bytes(m, "fw", c->fw, CERT_FW_LEN);
    r = r ? r : msg_put_int(m, "issued", (int64_t)(c->issued & INT64_MAX));
    r = r ? r : msg_put_bytes(m, "ca", c->ca, CERT_KEY_LEN);
    r = r ? r : msg_cbor_write(m, out);
    cbor_decref(&m);
    return r;
}

static int put_bstr(struct buf *out, const uint8_t *p, size_t n)
{
    int r;
    /* head for a byte string of n (n < 65536) */
    if (n < 24)
        r = buf_put_u8(out, (uint8_t)(0x40 | n));
    else if (n <= 0xff)
        r = buf_put_u8(out, 0x58) || buf_put_u8(out, (uint8_t)n) ? MAMORI_ERR_TOOBIG : 0;
    else
        r = buf_put_u8(out, 0x59) || buf_put_u16(out, (uint16_t)n) ? MAMORI_ERR_TOOBIG : 0;
    return r ? r : buf_put_bytes(out, p, n);
}

int cert_issue(struct cert *c, struct keys *ca, struct buf *out)
{
    struct buf tbs;
    int r;
    if (c->issued > (uint64_t)INT64_MAX)
        return MAMORI_ERR_INVAL;
    keys_sign_public(ca, c->ca);
    buf_init(&tbs, CERT_MAX);
    r = cert_tbs(c, &tbs);
    r = r ? r : keys_sign(ca, c->sig, buf_ptr(&tbs), buf_remaining(&tbs));
    r = r ? r : buf_put_u8(out, 0x82);
    r = r ? r : put_bstr(out, buf_ptr(&tbs), buf_remaining(&tbs));
    r = r ? r : put_bstr(out, c->sig, CERT_SIG_LEN);
    buf_free(&tbs);
    return r;
}

static int get_fixed(const cbor_item_t *m, const char *key, uint8_t *out, size_t n)
{
    const uint8_t *p;
    size_t l;
    int r = msg_get_bytes(m, key, &p, &l);
    if (r != 0)
        return MAMORI_ERR_INVAL;
    if (l != n)
        return MAMORI_ERR_INVAL;
    memcpy(out, p, n);
    return 0;
}

int cert_decode(const uint8_t *p, size_t n, struct cert *ret)
{
    cbor_item_t *top = NULL, *tbsm = NULL;
    cbor_item_t **a;
    struct cert c;
    struct buf again;
    int64_t v = 0, issued = 0;
    const uint8_t *tp;
    size_t tn;
    int r;
    memset(&c, 0, sizeof(c));
    buf_init(&again, CERT_MAX);
    if (n > CERT_MAX) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((r = msg_cbor_parse(p, n, &top)) != 0)
        goto out;
    r = MAMORI_ERR_INVAL;
    if (!cbor_isa_array(top) || cbor_array_size(top) != 2)
        goto out;
    a = cbor_array_handle(top);
    if (!cbor_isa_bytestring(a[0]) || !cbor_isa_bytestring(a[1]) ||
        cbor_bytestring_length(a[1]) != CERT_SIG_LEN)
        goto out;
    memcpy(c.sig, cbor_bytestring_handle(a[1]), CERT_SIG_LEN);
    tp = cbor_bytestring_handle(a[0]);
    tn = cbor_bytestring_length(a[0]);
    if ((r = msg_cbor_parse(tp, tn, &tbsm)) != 0)
        goto out;
    r = MAMORI_ERR_INVAL;
    if (!cbor_isa_map(tbsm) || cbor_map_size(tbsm) != 8)
        goto out;
    if (msg_get_int(tbsm, "v", &v) != 0 || v != 1) {
        r = MAMORI_ERR_UNSUPPORTED;
        goto out;
    }
    if (msg_get_str(tbsm, "model", c.model, sizeof(c.model)) != 0 ||
        msg_get_str(tbsm, "serial", c.serial, sizeof(c.serial)) != 0 ||
        get_fixed(tbsm, "bus_pub", c.bus_pub, CERT_KEY_LEN) != 0 ||
        get_fixed(tbsm, "log_pub", c.log_pub, CERT_KEY_LEN) != 0 ||
        get_fixed(tbsm, "fw", c.fw, CERT_FW_LEN) != 0 ||
        msg_get_int(tbsm, "issued", &issued) != 0 || issued < 0 ||
        get_fixed(tbsm, "ca", c.ca, CERT_KEY_LEN) != 0)
        goto out;
    c.issued = (uint64_t)issued;
    /* canonical: our encoding of the fields must be the signed bytes */
    if (cert_tbs(&c, &again) != 0 || buf_remaining(&again) != tn ||
        memcmp(buf_ptr(&again), tp, tn) != 0)
        goto out;
    *ret = c;
    r = 0;
out:
    if (top)
        cbor_decref(&top);
    if (tbsm)
        cbor_decref(&tbsm);
    buf_free(&again);
    return r;
}

int cert_verify(const struct cert *c, const uint8_t trusted_ca[static CERT_KEY_LEN])
{
    struct buf tbs;
    int r;
    if (memcmp(c->ca, trusted_ca, CERT_KEY_LEN) != 0)
        return MAMORI_ERR_AUTH;
    buf_init(&tbs, CERT_MAX);
    r = cert_tbs(c, &tbs);
    if (r == 0)
        r = keys_verify(trusted_ca, c->sig, buf_ptr(&tbs), buf_remaining(&tbs));
    buf_free(&tbs);
    return r == 0 ? 0 : MAMORI_ERR_AUTH;
}

int cert_read_file(const char *path, uint8_t *out, size_t cap, size_t *ret_n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t n = 0;
    if (fd < 0)
        return MAMORI_ERR_IO;
    for (;;) {
        ssize_t k = read(fd, out + n, cap - n);
        if (k < 0) {
            close(fd);
            return MAMORI_ERR_IO;
        }
        if (k == 0)
            break;
        n += (size_t)k;
        if (n == cap) {
            uint8_t extra;
            k = read(fd, &extra, 1);
            close(fd);
            return k == 0 ? (*ret_n = n, 0) : MAMORI_ERR_TOOBIG;
        }
    }
    close(fd);
    *ret_n = n;
    return 0;
}
