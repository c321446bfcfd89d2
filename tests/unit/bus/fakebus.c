/* fakebus.c: see fakebus.h. */
#include "fakebus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/device.h"
#include "mamori/err.h"

struct fake F;

static int fake_emit(void *ctx, const char *type, cbor_item_t *body)
{
    struct fake_dev *fd = ctx;
    if (fd->attached && F.ev != NULL)
        F.ev(F.ev_ctx, fd->serial, type, body);
    if (body != NULL)
        cbor_decref(&body);
    return fd->attached ? 0 : MAMORI_ERR_OFFLINE;
}

static struct device_io fake_io[FAKE_N];

void bus_on_event(struct bus *b, bus_event_fn fn, void *ctx)
{
    (void)b;
    F.ev = fn;
    F.ev_ctx = ctx;
}

void bus_on_attach(struct bus *b, bus_attach_fn fn, void *ctx)
{
    (void)b;
    F.at = fn;
    F.at_ctx = ctx;
}

static struct fake_dev *fake_find(const char *serial)
{
    for (int i = 0; i < FAKE_N; i++)
        if (strcmp(F.d[i].serial, serial) == 0)
            return &F.d[i];
    return NULL;
}

int bus_call(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
             int timeout_ms, cbor_item_t **ret_reply)
{
    (void)b;
    (void)timeout_ms;
    struct fake_dev *fd = fake_find(serial);
    cbor_item_t *reply = NULL;
    int r;
    F.calls++;
    if (fd == NULL)
        r = MAMORI_ERR_NOTFOUND;
    else if (!fd->attached)
        r = MAMORI_ERR_OFFLINE;
    else
        r = fd->cls->request(fd->st, type, body, &reply);
    if (body != NULL)
        cbor_decref(&body);
    if (fd != NULL && fd->attached && F.lose > 0) { /* executed; the reply is lost */
        F.lose--;
        if (reply != NULL)
            cbor_decref(&reply);
        return MAMORI_ERR_TIMEOUT;
    }
    if (r == 0)
        *ret_reply = reply;
    return r;
}

int bus_request(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
                int timeout_ms, bus_reply_fn cb, void *ctx)
{
    cbor_item_t *reply = NULL;
    if (F.defer) {
        assert_true(F.ndeferred < 8);
        snprintf(F.deferred[F.ndeferred].serial, 32, "%s", serial);
        snprintf(F.deferred[F.ndeferred].type, 48, "%s", type);
        F.deferred[F.ndeferred].body = body;
        F.deferred[F.ndeferred].cb = cb;
        F.deferred[F.ndeferred].ctx = ctx;
        F.ndeferred++;
        return 0;
    }
    int r = bus_call(b, serial, type, body, timeout_ms, &reply);
    cb(ctx, r, reply);
    if (reply != NULL)
        cbor_decref(&reply);
    return 0;
}

int bus_devices(struct bus *b, struct bus_device_info *out, size_t cap, size_t *ret_n)
{
    (void)b;
    size_t n = 0;
    for (int i = 0; i < FAKE_N && n < cap; i++, n++) {
        memset(&out[n], 0, sizeof(out[n]));
        snprintf(out[n].serial, sizeof(out[n].serial), "%s", F.d[i].serial);
        snprintf(out[n].kind, sizeof(out[n].kind), "%s", F.d[i].kind);
        snprintf(out[n].model, sizeof(out[n].model), "%s", F.d[i].cls->model);
        out[n].attached = F.d[i].attached;
    }
    *ret_n = n;
    return 0;
}

void fake_flush(void)
{
    F.defer = false;
    for (int i = 0; i < F.ndeferred; i++)
        (void)bus_request(NULL, F.deferred[i].serial, F.deferred[i].type, F.deferred[i].body, 100,
                          F.deferred[i].cb, F.deferred[i].ctx);
    F.ndeferred = 0;
}

void fake_plug(const char *serial, bool attached)
{
    struct fake_dev *fd = fake_find(serial);
    fd->attached = attached;
    if (F.at != NULL)
        F.at(F.at_ctx, serial, attached, attached ? "handshake" : "heartbeat");
}

int fake_ctl(const char *serial, const char *line)
{
    struct fake_dev *fd = fake_find(serial);
    char *copy = strdup(line), *argv[16], *save = NULL;
    int argc = 0;
    struct buf ans;
    buf_init(&ans, 4096);
    for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < 16; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    int r = fd->cls->control(fd->st, argc, argv, &ans);
    buf_free(&ans);
    free(copy);
    return r;
}

int fake_setup(void **state)
{
    static const char *const serials[FAKE_N] = {"SCN-0001", "SCL-0001", "PRT-0001", "DRW-0001",
                                                "CHG-0001", "LDP-0001", "TCH-0001", "KLK-0001"};
    static const char *const kinds[FAKE_N] = {"scanner", "scale",       "printer",    "drawer",
                                              "changer", "linedisplay", "touchpanel", "keylock"};
    memset(&F, 0, sizeof(F));
    F.dir = testutil_tmpdir();
    for (int i = 0; i < FAKE_N; i++) {
        char sub[4200];
        struct fake_dev *fd = &F.d[i];
        fd->serial = serials[i];
        fd->kind = kinds[i];
        fd->attached = true;
        fd->cls = device_class_find(kinds[i]);
        snprintf(sub, sizeof(sub), "%s/%s", F.dir, kinds[i]);
        assert_int_equal(mkdir(sub, 0700), 0);
        fake_io[i].ctx = fd;
        fake_io[i].emit = fake_emit;
        assert_int_equal(fd->cls->create(sub, &fake_io[i], &fd->st), 0);
    }
    return 0;
}

int fake_teardown(void **state)
{
    for (int i = 0; i < FAKE_N; i++)
        F.d[i].cls->destroy(F.d[i].st);
    testutil_rmtree(F.dir);
    free(F.dir);
    return 0;
}

