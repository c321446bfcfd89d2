/* libFuzzer target: the device API's intake of device events and attach
 * changes (src/bus/devapi.c). A device that passed admission can still be
 * compromised and send any event body; devapi must queue, classify and
 * deliver without fault. This file stands in for the bus (bus.h functions).
 *
 * Input: records of [op][device][len][bytes...]: op 0 event (bytes: 1 byte
 * type index, then a CBOR body), 1 attach, 2 detach, 3 arm DataEventEnabled,
 * 4 freeze, 5 unfreeze, 6 disable/enable, 7 clear input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cbor.h>

#include "bus/bus.h"
#include "bus/devapi.h"
#include "fuzz_cbor_sizes.h"
#include "mamori/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bus_event_fn ev_fn;
static void *ev_ctx;
static bus_attach_fn at_fn;
static void *at_ctx;
static const char *const serials[] = {"SCN-1", "MSR-1", "DRW-1"};
static const char *const kinds[] = {"scanner", "msr", "drawer"};
static bool attached[3] = {true, true, true};

void bus_on_event(struct bus *b, bus_event_fn fn, void *ctx)
{
    (void)b;
    ev_fn = fn;
    ev_ctx = ctx;
}

void bus_on_attach(struct bus *b, bus_attach_fn fn, void *ctx)
{
    (void)b;
    at_fn = fn;
    at_ctx = ctx;
}

int bus_request(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
                int timeout_ms, bus_reply_fn cb, void *ctx)
{
    (void)b, (void)serial, (void)type, (void)timeout_ms, (void)cb, (void)ctx;
    if (body != NULL)
        cbor_decref(&body);
    return MAMORI_ERR_OFFLINE;
}

int bus_call(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
             int timeout_ms, cbor_item_t **ret_reply)
{
    (void)b, (void)serial, (void)type, (void)timeout_ms, (void)ret_reply;
    if (body != NULL)
        cbor_decref(&body);
    return MAMORI_ERR_OFFLINE;
}

int bus_devices(struct bus *b, struct bus_device_info *out, size_t cap, size_t *ret_n)
{
    (void)b;
    size_t n = 0;
    for (; n < 3 && n < cap; n++) {
        memset(&out[n], 0, sizeof(out[n]));
        snprintf(out[n].serial, sizeof(out[n].serial), "%s", serials[n]);
        snprintf(out[n].kind, sizeof(out[n].kind), "%s", kinds[n]);
        out[n].attached = attached[n];
    }
    *ret_n = n;
    return 0;
}

static const char *const types[] = {
    "scanner.data", "scanner.status", "msr.data", "msr.error", "drawer.status", "drawer.open",
    "keyboard.key", "scanner.", "x", "scanner.datascanner.datascanner.datascanner.data.long.type",
};

static int rearm;

static void on_data(void *ctx, struct devapi_dev *d, const char *type, const cbor_item_t *body)
{
    (void)ctx, (void)type, (void)body;
    if (rearm & 1)
        (void)devapi_set_data_event_enabled(d, true); /* re-entrant delivery */
}

static void on_status(void *ctx, struct devapi_dev *d, int status, const char *type,
                      const cbor_item_t *body)
{
    (void)ctx, (void)d, (void)status, (void)type, (void)body;
}

static void on_error(void *ctx, struct devapi_dev *d, int rc, int ext, int locus,
                     const cbor_item_t *body)
{
    (void)ctx, (void)d, (void)rc, (void)ext, (void)locus, (void)body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct devapi *a;
    struct devapi_dev *h[3] = {NULL, NULL, NULL};
    struct devapi_listener l = {.data = on_data, .status = on_status, .error = on_error};
    size_t off = 0;
    for (int i = 0; i < 3; i++)
        attached[i] = true;
    if (devapi_new((struct bus *)&ev_fn, &a) != 0)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (devapi_open(a, serials[i], &l, &h[i]) != OPOS_SUCCESS)
            h[i] = NULL;
        (void)devapi_claim(h[i], 0);
        (void)devapi_set_enabled(h[i], true);
    }
    rearm = size > 0 ? data[0] : 0;
    while (off + 3 <= size) {
        uint8_t op = data[off] % 8, dev = data[off + 1] % 3;
        size_t len = data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        const uint8_t *p = data + off;
        off += len;
        switch (op) {
        case 0: {
            if (len < 1)
                break;
            struct cbor_load_result res;
            if (len > 1 && !sizes_ok(p + 1, len - 1))
                break;
            cbor_item_t *body = len > 1 ? cbor_load(p + 1, len - 1, &res) : NULL;
            if (ev_fn != NULL)
                ev_fn(ev_ctx, serials[dev], types[p[0] % (sizeof(types) / sizeof(types[0]))], body);
            if (body != NULL)
                cbor_decref(&body);
            break;
        }
        case 1:
        case 2:
            attached[dev] = op == 1;
            if (at_fn != NULL)
                at_fn(at_ctx, serials[dev], op == 1, "fuzz");
            break;
        case 3:
            (void)devapi_set_data_event_enabled(h[dev], true);
            break;
        case 4:
        case 5:
            (void)devapi_set_freeze_events(h[dev], op == 4);
            break;
        case 6:
            (void)devapi_set_enabled(h[dev], !devapi_enabled(h[dev]));
            break;
        default:
            (void)devapi_clear_input(h[dev]);
            break;
        }
    }
    devapi_free(a);
    return 0;
}
