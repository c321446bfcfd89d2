/*
 * devwatch.c: the terminald device watcher (devwatch.h). Owns its devapi
 * handles, the record of scans and of what it showed on the line display,
 * and per-device counters. Does not own any register logic: it shows the
 * scanned code, nothing is priced or sold.
 */
#include "bus/devwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bus/bus.h"
#include "bus/msgjson.h"
#include "devices/devbody.h"
#include "mamori/err.h"

#define DEVWATCH_CODE_MAX 257
#define DEVWATCH_LINE_MAX 128

struct devwatch_dev {
    struct devwatch *w;
    struct devapi_dev *d;
    char serial[64], kind[32];
    int rc_open, rc_claim, rc_enable;
    unsigned data, status, errors;
    int last_status;
    char last_type[48];
};

struct devwatch {
    struct bus *bus;
    struct devapi *api;
    bool watching;
    struct devwatch_dev dev[DEVWATCH_DEVICES_MAX];
    size_t ndev;
    struct {
        char data[DEVWATCH_CODE_MAX];
        int symbology;
    } scans[DEVWATCH_SCANS_MAX];
    unsigned nscans; /* total; the last DEVWATCH_SCANS_MAX are kept */
    char shown[2][DEVWATCH_LINE_MAX];
    int display_rc;
    unsigned displays;
};

int devwatch_new(struct bus *b, struct devapi *api, struct devwatch **ret)
{
    struct devwatch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return MAMORI_ERR_NOMEM;
    w->bus = b;
    w->api = api;
    w->display_rc = -1;
    *ret = w;
    return 0;
}

static void devwatch_stop(struct devwatch *w)
{
    for (size_t i = 0; i < w->ndev; i++)
        if (w->dev[i].d != NULL)
            (void)devapi_close(w->dev[i].d);
    memset(w->dev, 0, sizeof(w->dev));
    w->ndev = 0;
    w->watching = false;
}

void devwatch_free(struct devwatch *w)
{
    if (w == NULL)
        return;
    devwatch_stop(w);
    free(w);
}

static struct devwatch_dev *first_of_kind(struct devwatch *w, const char *kind)
{
    for (size_t i = 0; i < w->ndev; i++)
        if (w->dev[i].d != NULL && strcmp(w->dev[i].kind, kind) == 0 && devapi_enabled(w->dev[i].d))
            return &w->dev[i];
    return NULL;
}

static void on_display_reply(void *ctx, struct devapi_dev *d, int rc, const cbor_item_t *reply)
{
    struct devwatch *w = ctx;
    (void)d;
    (void)reply;
    w->display_rc = rc;
}

/* Show the scanned code on the line display (asynchronously: we are inside
 * an event callback). */
static void show_scan(struct devwatch *w, const char *code)
{
    struct devwatch_dev *ld = first_of_kind(w, "linedisplay");
    char l2[32];
    if (ld == NULL)
        return;
    snprintf(l2, sizeof(l2), "SCAN #%u", w->nscans);
    cbor_item_t *m = devbody_new(), *arr = cbor_new_definite_array(2), *s1 = cbor_build_string(code),
                *s2 = cbor_build_string(l2);
    bool ok = m != NULL && arr != NULL && s1 != NULL && s2 != NULL && cbor_array_push(arr, s1) &&
              cbor_array_push(arr, s2);
    if (s1 != NULL)
        cbor_decref(&s1);
    if (s2 != NULL)
        cbor_decref(&s2);
    if (!ok || devbody_put_item(m, "lines", arr) != 0) {
        if (ok)
            arr = NULL; /* put_item took it */
        if (arr != NULL)
            cbor_decref(&arr);
        if (m != NULL)
            cbor_decref(&m);
        return;
    }
    snprintf(w->shown[0], sizeof(w->shown[0]), "%s", code);
    snprintf(w->shown[1], sizeof(w->shown[1]), "%s", l2);
    w->displays++;
    w->display_rc = devapi_request_async(ld->d, "linedisplay.text", m, 3000, on_display_reply, w);
}

static void on_data(void *ctx, struct devapi_dev *d, const char *type, const cbor_item_t *body)
{
    struct devwatch_dev *e = ctx;
    struct devwatch *w = e->w;
    e->data++;
    snprintf(e->last_type, sizeof(e->last_type), "%s", type);
    if (strcmp(type, "scanner.data") == 0) {
        unsigned k = w->nscans % DEVWATCH_SCANS_MAX;
        int64_t sym = 0;
        if (devbody_get_str(body, "data", w->scans[k].data, sizeof(w->scans[k].data)) == 0) {
            (void)devbody_get_int(body, "symbology", 0, 100000, &sym);
            w->scans[k].symbology = (int)sym;
            w->nscans++;
            show_scan(w, w->scans[k].data);
        }
    }
    (void)devapi_set_data_event_enabled(d, true); /* re-arm for the next input (UPOS) */
}

static void on_status(void *ctx, struct devapi_dev *d, int status, const char *type,
                      const cbor_item_t *body)
{
    struct devwatch_dev *e = ctx;
    (void)body;
    e->status++;
    e->last_status = status;
    snprintf(e->last_type, sizeof(e->last_type), "%s", type);
    if (status == OPOS_SUE_POWER_ONLINE && !devapi_enabled(d)) {
        /* Back online: take input again. */
        e->rc_enable = devapi_set_enabled(d, true);
        (void)devapi_set_data_event_enabled(d, true);
    }
}

static void on_error(void *ctx, struct devapi_dev *d, int rc, int ext, int locus,
                     const cbor_item_t *body)
{
    struct devwatch_dev *e = ctx;
    (void)d;
    (void)rc;
    (void)ext;
    (void)locus;
    (void)body;
    e->errors++;
}

static int devwatch_start(struct devwatch *w, struct buf *out)
{
    struct bus_device_info *info;
    size_t n = 0;
    int r;
    char line[64];
    if (w->watching)
        devwatch_stop(w);
    info = calloc(DEVWATCH_DEVICES_MAX, sizeof(*info));
    if (info == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = bus_devices(w->bus, info, DEVWATCH_DEVICES_MAX, &n)) != 0) {
        free(info);
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        struct devwatch_dev *e = &w->dev[w->ndev++];
        e->w = w;
        snprintf(e->serial, sizeof(e->serial), "%s", info[i].serial);
        snprintf(e->kind, sizeof(e->kind), "%s", info[i].kind);
        struct devapi_listener l = {.ctx = e, .data = on_data, .status = on_status, .error = on_error};
        e->rc_open = devapi_open(w->api, e->serial, &l, &e->d);
        if (e->rc_open != OPOS_SUCCESS) {
            e->d = NULL;
            continue;
        }
        /* the drawer is sharable, the keylock always sharable (claim illegal) */
        e->rc_claim = strcmp(e->kind, "drawer") == 0 || strcmp(e->kind, "keylock") == 0
                          ? OPOS_SUCCESS
                          : devapi_claim(e->d, 0);
        e->rc_enable = devapi_set_enabled(e->d, true); /* E_NOHARDWARE while detached */
        (void)devapi_set_data_event_enabled(e->d, true);
    }
    free(info);
    w->watching = true;
    snprintf(line, sizeof(line), "watching %zu\n", w->ndev);
    return buf_put_bytes(out, line, strlen(line));
}

static int put_json(struct buf *out, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    int r = s == NULL ? MAMORI_ERR_NOMEM : buf_put_bytes(out, s, strlen(s));
    if (r == 0)
        r = buf_put_u8(out, '\n');
    free(s);
    json_decref(j);
    return r;
}

static int devwatch_show(struct devwatch *w, struct buf *out)
{
    json_t *scans = json_array();
    unsigned first = w->nscans > DEVWATCH_SCANS_MAX ? w->nscans - DEVWATCH_SCANS_MAX : 0;
    for (unsigned s = first; scans != NULL && s < w->nscans; s++) {
        unsigned k = s % DEVWATCH_SCANS_MAX;
        json_array_append_new(scans, json_pack("{s:s,s:i}", "data", w->scans[k].data, "symbology",
                                               w->scans[k].symbology));
    }
    int r = put_json(out, json_pack("{s:b,s:I,s:o,s:[s,s],s:i,s:I}", "watching", w->watching,
                                    "nscans", (json_int_t)w->nscans, "scans", scans, "display",
                                    w->shown[0], w->shown[1], "display_rc", w->display_rc,
                                    "displays", (json_int_t)w->displays));
    for (size_t i = 0; r == 0 && i < w->ndev; i++) {
        const struct devwatch_dev *e = &w->dev[i];
        r = put_json(out, json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:b,s:b,s:I,s:I,s:I,s:i,s:s}", "serial",
                                    e->serial, "kind", e->kind, "power", devapi_power_state(e->d),
                                    "rc_open", e->rc_open, "rc_claim", e->rc_claim, "rc_enable",
                                    e->rc_enable, "claimed", devapi_claimed(e->d), "enabled",
                                    devapi_enabled(e->d), "data", (json_int_t)e->data, "status",
                                    (json_int_t)e->status, "errors", (json_int_t)e->errors,
                                    "last_status", e->last_status, "last_type", e->last_type));
    }
    return r;
}

int devwatch_ctl(struct devwatch *w, int argc, char **argv, struct buf *out)
{
    if (argc == 2 && strcmp(argv[1], "start") == 0)
        return devwatch_start(w, out);
    if (argc == 2 && strcmp(argv[1], "stop") == 0) {
        devwatch_stop(w);
        return buf_put_bytes(out, "stopped\n", 8);
    }
    if (argc == 1)
        return devwatch_show(w, out);
    return MAMORI_ERR_INVAL;
}
