/* libFuzzer target: device firmware request handling (every class in src/devices).
 * Input: one byte choosing the request type, then a CBOR body. Each class is
 * created once in a temporary state directory and fed every input. */
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cbor.h>

#include "devices/device.h"
#include "fuzz_cbor_sizes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    "scanner.status", "msr.status", "msr.key_inject", "pinpad.begin", "pinpad.end",
    "pinpad.status", "icreader.emoney_pay", "icreader.emoney_balance", "icreader.read",
    "icreader.status", "scale.read", "scale.status", "drawer.open", "drawer.status",
    "changer.deposit_begin", "changer.deposit_end", "changer.dispense", "changer.counts",
    "printer.print", "printer.status", "linedisplay.text", "linedisplay.clear",
    "custdisplay.text", "custdisplay.confirm", "custdisplay.cancel", "keyboard.status",
    "sigpad.capture", "sigpad.end", "touchpanel.status", "touchpanel.layout", "keylock.status",
};

static void *states[16];
static const struct device_class *classes[16];

static int drop(void *ctx, const char *type, cbor_item_t *body)
{
    (void)ctx;
    (void)type;
    if (body != NULL)
        cbor_decref(&body);
    return 0;
}

static const struct device_io io = {.ctx = NULL, .emit = drop};

static char dir[] = "/tmp/mamori-fuzz-devXXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    const struct device_class *const *all = device_classes();
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(cleanup);
    for (size_t i = 0; all[i] != NULL && i < 16; i++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s/%s", dir, all[i]->kind);
        if (mkdir(sub, 0700) != 0 || all[i]->create(sub, &io, &states[i]) != 0)
            abort();
        classes[i] = all[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct cbor_load_result res;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1)
        return 0;
    const char *type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
    if (size > 1 && !sizes_ok(data + 1, size - 1))
        return 0;
    cbor_item_t *body = size > 1 ? cbor_load(data + 1, size - 1, &res) : NULL;
    for (size_t i = 0; classes[i] != NULL; i++) {
        size_t kl = strlen(classes[i]->kind);
        if (strncmp(type, classes[i]->kind, kl) != 0 || type[kl] != '.')
            continue;
        cbor_item_t *reply = NULL;
        if (classes[i]->request(states[i], type, body, &reply) == 0 && reply != NULL)
            cbor_decref(&reply);
    }
    if (body != NULL)
        cbor_decref(&body);
    return 0;
}
