/* devtest.c: see devtest.h. */
#include "devtest.h"

#include <stdlib.h>
#include <string.h>

#include "devices/devbody.h"
#include "keys/keys.h"
#include "mamori/err.h"

static int devtest_emit(void *ctx, const char *type, cbor_item_t *body)
{
    struct devtest *t = ctx;
    if (t->offline) {
        if (body != NULL)
            cbor_decref(&body);
        return MAMORI_ERR_OFFLINE;
    }
    assert_true(t->nev < DEVTEST_EVENTS_MAX);
    t->ev_type[t->nev] = strdup(type);
    t->ev_body[t->nev] = body;
    t->nev++;
    return 0;
}

/* The runner's signer (devrun.c io_sign) stand-in: the test's device key. */
static int devtest_sign(void *ctx, const uint8_t *msg, size_t n, uint8_t ret_sig[static 64])
{
    struct devtest *t = ctx;
    return keys_sign(t->sign_key, ret_sig, msg, n);
}

void devtest_start(struct devtest *t, const char *kind)
{
    memset(t, 0, sizeof(*t));
    t->cls = device_class_find(kind);
    assert_non_null(t->cls);
    t->dir = testutil_tmpdir();
    t->io.ctx = t;
    t->io.emit = devtest_emit;
    assert_int_equal(keys_generate(&t->sign_key), 0);
    t->io.sign = devtest_sign;
    t->io.serial = DEVTEST_SERIAL;
    buf_init(&t->answer, 4096);
    assert_int_equal(t->cls->create(t->dir, &t->io, &t->st), 0);
}

void devtest_restart(struct devtest *t)
{
    t->cls->destroy(t->st);
    t->st = NULL;
    assert_int_equal(t->cls->create(t->dir, &t->io, &t->st), 0);
}

void devtest_stop(struct devtest *t)
{
    t->cls->destroy(t->st);
    for (size_t i = 0; i < t->nev; i++) {
        free(t->ev_type[i]);
        if (t->ev_body[i] != NULL)
            cbor_decref(&t->ev_body[i]);
    }
    buf_free(&t->answer);
    keys_free(t->sign_key);
    testutil_rmtree(t->dir);
    free(t->dir);
}

int devtest_req(struct devtest *t, const char *type, cbor_item_t *body, cbor_item_t **ret_reply)
{
    cbor_item_t *reply = NULL;
    int r = t->cls->request(t->st, type, body, &reply);
    if (body != NULL)
        cbor_decref(&body);
    if (r != 0)
        assert_null(reply); /* no reply on failure */
    if (ret_reply != NULL)
        *ret_reply = reply;
    else if (reply != NULL)
        cbor_decref(&reply);
    return r;
}

int devtest_ctl(struct devtest *t, const char *line)
{
    char *copy = strdup(line), *argv[2100], *save = NULL;
    int argc = 0;
    for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < 2100; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    buf_reset(&t->answer);
    int r = t->cls->control(t->st, argc, argv, &t->answer);
    free(copy);
    return r;
}

const char *devtest_answer(struct devtest *t)
{
    if (buf_put_u8(&t->answer, 0) != 0)
        return "";
    t->answer.len--; /* keep the NUL out of the length */
    return (const char *)t->answer.d;
}

const cbor_item_t *devtest_event(struct devtest *t, const char *type, size_t i)
{
    for (size_t k = 0; k < t->nev; k++)
        if (strcmp(t->ev_type[k], type) == 0 && i-- == 0)
            return t->ev_body[k];
    return NULL;
}

size_t devtest_count(struct devtest *t, const char *type)
{
    size_t n = 0;
    for (size_t k = 0; k < t->nev; k++)
        n += strcmp(t->ev_type[k], type) == 0;
    return n;
}

void devtest_events_bytes(struct devtest *t, struct buf *out)
{
    for (size_t k = 0; k < t->nev; k++) {
        unsigned char *p = NULL;
        size_t cap = 0, n;
        assert_int_equal(buf_put_bytes(out, t->ev_type[k], strlen(t->ev_type[k])), 0);
        if (t->ev_body[k] == NULL)
            continue;
        n = cbor_serialize_alloc(t->ev_body[k], &p, &cap);
        assert_true(n > 0);
        assert_int_equal(buf_put_bytes(out, p, n), 0);
        free(p);
    }
}

cbor_item_t *devtest_body(void)
{
    cbor_item_t *m = devbody_new();
    assert_non_null(m);
    return m;
}

int64_t devtest_int(const cbor_item_t *map, const char *key)
{
    int64_t v = 0;
    assert_int_equal(devbody_get_int(map, key, INT64_MIN, INT64_MAX, &v), 0);
    return v;
}

const char *devtest_str(const cbor_item_t *map, const char *key, char *out, size_t cap)
{
    assert_int_equal(devbody_get_str(map, key, out, cap), 0);
    return out;
}

bool devtest_same(const cbor_item_t *a, const cbor_item_t *b)
{
    unsigned char *pa = NULL, *pb = NULL;
    size_t ca = 0, cb = 0;
    size_t na = cbor_serialize_alloc(a, &pa, &ca), nb = cbor_serialize_alloc(b, &pb, &cb);
    bool same = na == nb && na > 0 && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}
